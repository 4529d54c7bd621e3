"""A construct call -> the table descriptions the rules judge, for either source language.

The props are read as aws-cdk-lib reads them: `removalPolicy` absent means RETAIN, the
deprecated `pointInTimeRecovery` enables PITR like the specification does, and a TableV2
replica inherits each table-level setting it does not set itself. An L1 (`CfnTable`,
`CfnGlobalTable`) has CloudFormation's props and no removal policy unless the file applies
one, so its DeletionPolicy is absent, which CloudFormation treats as Delete; a
`CfnGlobalTable` is judged per replica, as its template is. A value lint cannot see
(a variable, a call, a spread that may set it) becomes `Unknown` naming the expression,
so the description stays honest; `tablesafe.lint` then leaves the rules that read it to
`tablesafe check`, which sees the synthesized value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tablesafe.model import GLOBAL_TABLE, TABLE, Judged, Source, Suppression, TableDescription, Unknown
from tablesafe.remediation import PYTHON, TYPESCRIPT
from tablesafe.replacement_data import REPLACING_PROPERTIES
from tablesafe.rules import RULE_IDS, find_rule
from tablesafe.source import PYTHON_SUFFIXES
from tablesafe.source.calls import (
    TABLE_CLASSES,
    ConstructCall,
    Member,
    NonLiteral,
    Props,
    SuppressionCall,
    Value,
    plain,
)
from tablesafe.suppressions import METADATA_KEY, from_metadata, parse_expiry, reason_problem
from tablesafe.values import brief

RESOURCE_TYPES = {"Table": TABLE, "TableV2": GLOBAL_TABLE, "CfnTable": TABLE, "CfnGlobalTable": GLOBAL_TABLE}
REMOVAL_POLICIES = {
    "RETAIN": ("Retain", "Retain"),
    "DESTROY": ("Delete", "Delete"),
    "SNAPSHOT": ("Snapshot", "Snapshot"),
    "RETAIN_ON_UPDATE_OR_DELETE": ("RetainExceptOnCreate", "Retain"),
}
"""RemovalPolicy member -> (DeletionPolicy, UpdateReplacePolicy), as aws-cdk-lib synthesizes them."""
CFN_DELETION_POLICIES = {
    "DELETE": "Delete",
    "RETAIN": "Retain",
    "SNAPSHOT": "Snapshot",
    "RETAIN_EXCEPT_ON_CREATE": "RetainExceptOnCreate",
}
"""CfnDeletionPolicy member -> the attribute value (cfn_options.deletion_policy and
update_replace_policy)."""
_POLICY_FIELDS = {"deletionPolicy": "deletion_policy", "updateReplacePolicy": "update_replace_policy"}
NODE_METADATA = (
    "construct metadata (on the construct's node) never reaches the template, so tablesafe check "
    "does not see it either: use suppress(), or the Metadata of the table's CfnTable (its "
    "node.defaultChild)"
)
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


def _protection(layers: Sequence[Props], protection: str = "deletionProtection") -> dict[str, Any]:
    """PITR and deletion protection (an L1 calls it deletionProtectionEnabled)."""
    return {**_pitr(layers), "deletion_protection": _bool(_setting(layers, protection))}


def _policies(call: ConstructCall) -> dict[str, Any]:
    """DeletionPolicy and UpdateReplacePolicy: an L2's removalPolicy prop (absent: RETAIN,
    the CDK default) or nothing for an L1 (absent: Delete, as CloudFormation reads it), then
    each policy the file sets on the construct afterwards, in source order."""
    policies: dict[str, Any] = {"deletion_policy": None, "update_replace_policy": None}
    steps = list(call.policies)
    if call.kind in TABLE_CLASSES:
        value = call.props.get("removalPolicy") if isinstance(call.props, Props) else call.props
        steps.insert(0, ("removalPolicy", Member("RemovalPolicy", "RETAIN") if value is None else value))
    for key, value in steps:
        if key == "removalPolicy":
            if isinstance(value, Member) and value.enum == "RemovalPolicy" and value.name in REMOVAL_POLICIES:
                deletion, update_replace = REMOVAL_POLICIES[value.name]
            else:
                deletion = update_replace = _unknown(value, "a RemovalPolicy")
            policies = {"deletion_policy": deletion, "update_replace_policy": update_replace}
        elif (
            isinstance(value, Member)
            and value.enum == "CfnDeletionPolicy"
            and value.name in CFN_DELETION_POLICIES
        ):
            policies[_POLICY_FIELDS[key]] = CFN_DELETION_POLICIES[value.name]
        else:
            policies[_POLICY_FIELDS[key]] = _unknown(value, "a CfnDeletionPolicy")
    return policies


def _replica(replica: Value, layers: Sequence[Props], protection: str) -> dict[str, Any]:
    """One replica entry's settings (over the table's layers, for a TableV2)."""
    if not isinstance(replica, Props):
        unknown = _unknown(replica, "a replica")
        return {"pitr_enabled": unknown, "deletion_protection": unknown, "replica_region": "?"}
    region = replica.get("region")
    name = region if isinstance(region, str) else str(plain(region) or "?")
    return {**_protection([replica, *layers], protection), "replica_region": name}


def _replicas(kind: str, props: Props) -> list[dict[str, Any]]:
    """Protection settings per replica. A TableV2: the construct itself (the replica in the
    stack's region, which lint cannot name), then each replica it lists, inheriting the
    table's settings. A CfnGlobalTable: each entry of its replicas, on its own."""
    if kind == "CfnGlobalTable":
        replicas = props.get("replicas")
        if not isinstance(replicas, list) or not replicas:
            unknown = _unknown(replicas, "a list of replicas")
            return [{"pitr_enabled": unknown, "deletion_protection": unknown}]
        return [_replica(replica, [], "deletionProtectionEnabled") for replica in replicas]
    if kind == "CfnTable":
        return [_protection([props], "deletionProtectionEnabled")]
    settings = [_protection([props])]
    replicas = props.get("replicas") if kind == "TableV2" else None
    if replicas is None:
        return settings
    return settings + [
        _replica(replica, [props], "deletionProtection")
        for replica in (replicas if isinstance(replicas, list) else [replicas])
    ]


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


class _NotLiteral(Exception):
    """A value that holds a NonLiteral somewhere."""


def _cloudformation(value: Value) -> Any:
    """An L1 literal in template shape: keys PascalCase (keySchema -> KeySchema,
    s3BucketSource -> S3BucketSource), as the L1 writes them; raises _NotLiteral."""
    if isinstance(value, NonLiteral):
        raise _NotLiteral
    if isinstance(value, Props):
        if value.spread is not None:
            raise _NotLiteral
        return {key[:1].upper() + key[1:]: _cloudformation(item) for key, item in value.values.items()}
    if isinstance(value, list):
        return [_cloudformation(item) for item in value]
    return str(value) if isinstance(value, Member) else value


def l1_replacing_props(resource_type: str, props: Props) -> dict[str, Any] | None:
    """An L1's replacement-forcing properties (and AttributeDefinitions) in template shape,
    as `tablesafe check` reads them; None when any of them is not literal."""
    found: dict[str, Any] = {}
    for name in (*REPLACING_PROPERTIES.get(resource_type, ()), "AttributeDefinitions"):
        value = props.get(name[:1].lower() + name[1:])
        if value is None:
            continue
        try:
            found[name] = _cloudformation(value)
        except _NotLiteral:
            return None
    return found


def describe_call(
    call: ConstructCall, file: str, suppressions: tuple[Suppression, ...] = ()
) -> list[TableDescription]:
    """The descriptions of one call: one for a Table or CfnTable, one per replica for a
    TableV2 or CfnGlobalTable."""
    resource_type = RESOURCE_TYPES[call.kind]
    identity: dict[str, Any] = {
        "resource_type": resource_type,
        "source": Source.SOURCE,
        "construct_path": call.construct_id,
        "file": file,
        "line": call.line,
        "cdk_class": call.kind,
        "variable": call.variable,
        "scope": call.scope,
        "language": PYTHON if os.path.splitext(file)[1] in PYTHON_SUFFIXES else TYPESCRIPT,
        "suppressions": suppressions,
        **_policies(call),
    }
    props = call.props
    if isinstance(props, NonLiteral):
        unknown = _unknown(props, "props")
        return [
            TableDescription(
                **identity, pitr_enabled=unknown, recovery_period_days=unknown, deletion_protection=unknown
            )
        ]
    table_name = props.get("tableName")
    l2 = call.kind in TABLE_CLASSES
    common = {
        **identity,
        "table_name": table_name if isinstance(table_name, str) else None,
        "cdk_props": plain(props) if l2 else None,  # an L1 has no L2 props (TS002)
        "replacing_props": (replacing_props if l2 else l1_replacing_props)(resource_type, props),
    }
    return [TableDescription(**common, **settings) for settings in _replicas(call.kind, props)]


def _rule_id(rule: Value, written: SuppressionCall) -> Value:
    """The rule id of an entry: suppress() also takes a slug, as the helper does."""
    found = find_rule(rule) if written.written_as == "suppress()" and isinstance(rule, str) else None
    return found.id if found is not None else rule


def _written_suppressions(written: SuppressionCall) -> tuple[list[Suppression], list[str]]:
    """One suppress() or addMetadata call's entries, and the problems with them."""
    where = f"line {written.line}: {written.written_as}"
    if not isinstance(written.entries, list):
        return [], [f"{where}: the suppress entries {_unknown(written.entries, 'a list').reason}"]
    suppressions: list[Suppression] = []
    problems: list[str] = []
    literal: list[Any] = []
    for entry in written.entries:
        if not isinstance(entry, Props):
            literal.append(plain(entry))
            continue
        rule = _rule_id(entry.get("id"), written)
        unread = [(key, value) for key, value in entry.values.items() if isinstance(value, NonLiteral)]
        if not unread and entry.spread is None:
            literal.append({**plain(entry), "id": rule})  # type: ignore[dict-item]
        elif rule not in RULE_IDS:
            problems.append(f"{where}: the rule {_unknown(entry.get('id'), 'a rule id').reason}")
        else:
            key, value = unread[0] if unread else ("entry", entry.spread)
            problem = f"its {key} {_unknown(value, 'literal').reason}"
            suppressions.append(Suppression(str(rule), "", None, "metadata", problem))
    found, entry_problems = from_metadata({METADATA_KEY: {"suppress": literal}}, RULE_IDS)
    suppressions.extend(found)
    problems.extend(f"{where}: {problem}" for problem in entry_problems)
    if written.construct_metadata:
        suppressions = [replace(suppression, problem=NODE_METADATA) for suppression in suppressions]
    elif written.condition is not None:
        problem = f"it is written under {written.condition}, which lint does not evaluate"
        suppressions = [replace(suppression, problem=problem) for suppression in suppressions]
    return suppressions, problems


def code_suppressions(call: ConstructCall) -> tuple[tuple[Suppression, ...], list[str]]:
    """The suppressions written in code on the call's table (`suppress()`, `addMetadata`),
    read by the rules of Metadata suppressions (tablesafe.suppressions.from_metadata), and
    the problems that make an entry unusable. A reason or date lint cannot read makes the
    suppression say so in the finding, instead of a guess."""
    suppressions: list[Suppression] = []
    problems: list[str] = []
    for written in call.suppressions:
        found, written_problems = _written_suppressions(written)
        suppressions.extend(found)
        problems.extend(written_problems)
    return tuple(suppressions), problems


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
