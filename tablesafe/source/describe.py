"""A construct call -> the table descriptions the rules judge, for either source language.

The props are read as aws-cdk-lib reads them: `removalPolicy` absent means RETAIN, the
deprecated `pointInTimeRecovery` enables PITR like the specification does, and a TableV2
replica inherits each table-level setting it does not set itself. A value lint cannot see
(a variable, a call, a spread that may set it) becomes `Unknown` naming the expression,
so the description stays honest; `tablesafe.lint` then leaves the rules that read it to
`tablesafe check`, which sees the synthesized value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tablesafe.model import GLOBAL_TABLE, TABLE, Judged, Source, Suppression, TableDescription, Unknown
from tablesafe.rules import RULE_IDS
from tablesafe.source.calls import ConstructCall, Member, NonLiteral, Props, Value, plain
from tablesafe.suppressions import parse_expiry, reason_problem
from tablesafe.values import brief

RESOURCE_TYPES = {"Table": TABLE, "TableV2": GLOBAL_TABLE}
REMOVAL_POLICIES = {
    "RETAIN": ("Retain", "Retain"),
    "DESTROY": ("Delete", "Delete"),
    "SNAPSHOT": ("Snapshot", "Snapshot"),
    "RETAIN_ON_UPDATE_OR_DELETE": ("RetainExceptOnCreate", "Retain"),
}
"""RemovalPolicy member -> (DeletionPolicy, UpdateReplacePolicy), as aws-cdk-lib synthesizes them."""
_ATTRIBUTE_TYPES = {"STRING": "S", "NUMBER": "N", "BINARY": "B"}
_IGNORE = re.compile(
    r"(?:#|//|/\*)\s*tablesafe:\s*ignore\[(?P<ids>[^\]]*)\](?P<reason>.*?)"
    r"(?:\(expires\s+(?P<expires>[^)]*)\))?\s*(?:\*/)?\s*$"
)


def _unknown(value: Value, expected: str) -> Unknown:
    if isinstance(value, NonLiteral):
        return Unknown(f"depends on {value}, which lint does not evaluate")
    return Unknown(f"is {brief(plain(value))}, not {expected}")


def _setting(layers: Sequence[Props], key: str) -> Value:
    """The first layer that sets key (a replica, then its table); None when none does."""
    for props in layers:
        value = props.get(key)
        if value is not None:
            return value
    return None


def _bool(value: Value) -> Judged:
    return value if value is None or isinstance(value, bool) else _unknown(value, "a boolean")


def _days(value: Value) -> int | Unknown | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return _unknown(value, "a number of days")


def _pitr(layers: Sequence[Props]) -> dict[str, Any]:
    spec = _setting(layers, "pointInTimeRecoverySpecification")
    if spec is None:
        return {"pitr_enabled": _bool(_setting(layers, "pointInTimeRecovery"))}
    if isinstance(spec, Props):
        return {
            "pitr_enabled": _bool(spec.get("pointInTimeRecoveryEnabled")),
            "pitr_specified": True,
            "recovery_period_days": _days(spec.get("recoveryPeriodInDays")),
        }
    unknown = _unknown(spec, "a PointInTimeRecoverySpecification")
    return {"pitr_enabled": unknown, "recovery_period_days": unknown}


def _protection(layers: Sequence[Props]) -> dict[str, Any]:
    return {**_pitr(layers), "deletion_protection": _bool(_setting(layers, "deletionProtection"))}


def _policies(props: Props) -> dict[str, Any]:
    value = props.get("removalPolicy")
    if value is None:
        deletion, replace = REMOVAL_POLICIES["RETAIN"]  # the CDK default of Table and TableV2
    elif isinstance(value, Member) and value.enum == "RemovalPolicy" and value.name in REMOVAL_POLICIES:
        deletion, replace = REMOVAL_POLICIES[value.name]
    else:
        deletion = replace = _unknown(value, "a RemovalPolicy")
    return {"deletion_policy": deletion, "update_replace_policy": replace}


def _replicas(kind: str, props: Props) -> list[dict[str, Any]]:
    """Protection settings per replica: the construct itself (for TableV2, the replica in
    the stack's region, which lint cannot name), then each replica it lists."""
    settings = [_protection([props])]
    replicas = props.get("replicas") if kind == "TableV2" else None
    if replicas is None:
        return settings
    for replica in replicas if isinstance(replicas, list) else [replicas]:
        if isinstance(replica, Props):
            region = replica.get("region")
            name = region if isinstance(region, str) else str(plain(region) or "?")
            settings.append({**_protection([replica, props]), "replica_region": name})
        else:
            unknown = _unknown(replica, "a replica")
            settings.append({"pitr_enabled": unknown, "deletion_protection": unknown, "replica_region": "?"})
    return settings


def _key(value: Value, key_type: str, types: dict[str, str]) -> dict[str, str] | None:
    """A KeySchema entry from an Attribute literal; None when it is not literal."""
    if not isinstance(value, Props):
        return None
    name, attribute_type = value.get("name"), value.get("type")
    if not isinstance(name, str) or not (
        isinstance(attribute_type, Member) and attribute_type.name in _ATTRIBUTE_TYPES
    ):
        return None
    types[name] = _ATTRIBUTE_TYPES[attribute_type.name]
    return {"AttributeName": name, "KeyType": key_type}


def _local_indexes(
    value: Value, partition: dict[str, str], types: dict[str, str]
) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    indexes = []
    for index in value:
        if not isinstance(index, Props) or not isinstance(name := index.get("indexName"), str):
            return None
        sort = _key(index.get("sortKey"), "RANGE", types)
        projection = index.get("projectionType") or Member("ProjectionType", "ALL")
        if sort is None or not isinstance(projection, Member):
            return None
        indexes.append(
            {
                "IndexName": name,
                "KeySchema": [partition, sort],
                "Projection": {
                    "ProjectionType": projection.name,
                    "NonKeyAttributes": plain(index.get("nonKeyAttributes")),
                },
            }
        )
    return indexes


def replacing_props(resource_type: str, props: Props) -> dict[str, Any] | None:
    """The replacement-forcing properties in CloudFormation shape, so a changed key, table
    name or local index is caught at commit time; None when any of them is not literal."""
    types: dict[str, str] = {}
    partition = _key(props.get("partitionKey"), "HASH", types)
    if partition is None:
        return None
    found: dict[str, Any] = {"KeySchema": [partition]}
    if (sort_key := props.get("sortKey")) is not None:
        if (sort := _key(sort_key, "RANGE", types)) is None:
            return None
        found["KeySchema"].append(sort)
    if (table_name := props.get("tableName")) is not None:
        if not isinstance(table_name, str):
            return None
        found["TableName"] = table_name
    if (local := props.get("localSecondaryIndexes")) is not None:
        if (indexes := _local_indexes(local, partition, types)) is None:
            return None
        found["LocalSecondaryIndexes"] = indexes
    if resource_type == TABLE and (source := props.get("importSource")) is not None:
        found["ImportSourceSpecification"] = plain(source)  # as written, like an intrinsic
    found["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in types.items()]
    return found


def describe_call(
    call: ConstructCall, file: str, suppressions: tuple[Suppression, ...] = ()
) -> list[TableDescription]:
    """The descriptions of one call: one for a Table, one per replica for a TableV2."""
    resource_type = RESOURCE_TYPES[call.kind]
    identity: dict[str, Any] = {
        "resource_type": resource_type,
        "source": Source.SOURCE,
        "construct_path": call.construct_id,
        "file": file,
        "line": call.line,
        "suppressions": suppressions,
    }
    props = call.props
    if isinstance(props, NonLiteral):
        unknown = _unknown(props, "props")
        return [
            TableDescription(
                **identity,
                pitr_enabled=unknown,
                recovery_period_days=unknown,
                deletion_protection=unknown,
                deletion_policy=unknown,
                update_replace_policy=unknown,
            )
        ]
    table_name = props.get("tableName")
    common = {
        **identity,
        **_policies(props),
        "table_name": table_name if isinstance(table_name, str) else None,
        "cdk_props": plain(props),
        "replacing_props": replacing_props(resource_type, props),
    }
    return [TableDescription(**common, **settings) for settings in _replicas(call.kind, props)]


def comment_suppressions(
    lines: Sequence[str], call: ConstructCall
) -> tuple[tuple[Suppression, ...], list[str]]:
    """`# tablesafe: ignore[TS003] reason (expires 2027-01-31)` (or `//`) on a line of the
    call, or alone on the line above it, with the same reason and date rules as Metadata
    suppressions; and the problems that make a comment unusable."""
    first = call.line - 1
    if first >= 1 and lines[first - 1].lstrip().startswith(("#", "//", "/*")):
        first -= 1
    candidates = range(first, min(call.end_line, len(lines)))
    suppressions: list[Suppression] = []
    problems: list[str] = []
    for index in candidates:
        match = _IGNORE.search(lines[index]) if "tablesafe:" in lines[index] else None
        if match is None:
            continue
        reason = match["reason"].strip(" :-—")
        expires, date_problem = parse_expiry(match["expires"])
        problem = reason_problem(reason) or date_problem
        for rule_id in filter(None, (part.strip().upper() for part in match["ids"].split(","))):
            if rule_id not in RULE_IDS:
                problems.append(f"line {index + 1}: tablesafe: ignore[{rule_id}] names no tablesafe rule")
                continue
            suppressions.append(Suppression(rule_id, reason, expires, "source comment", problem))
    return tuple(suppressions), problems
