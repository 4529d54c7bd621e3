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

from tablesafe.model import (
    GLOBAL_TABLE,
    TABLE,
    Decider,
    Judged,
    Source,
    Suppression,
    TableDescription,
    Unknown,
)
from tablesafe.remediation import PYTHON, TYPESCRIPT
from tablesafe.replacement_data import REPLACING_PROPERTIES
from tablesafe.rules import RULE_IDS, find_rule
from tablesafe.source import PYTHON_SUFFIXES
from tablesafe.source.calls import (
    REMOVAL_POLICY,
    TABLE_CLASSES,
    Comment,
    ConstructCall,
    Deleted,
    Member,
    NonLiteral,
    Override,
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


_ATTRIBUTES = {"DeletionPolicy": "deletion_policy", "UpdateReplacePolicy": "update_replace_policy"}
_CLOUDFORMATION_POLICIES = frozenset({"Delete", "Retain", "Snapshot", "RetainExceptOnCreate"})
PROPERTY_PATHS = {
    "deletion_protection": ("DeletionProtectionEnabled",),
    "pitr_enabled": ("PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"),
    "recovery_period_days": ("PointInTimeRecoverySpecification", "RecoveryPeriodInDays"),
}
"""Where in a table's Properties each protection field lives (CloudFormation's names)."""


def _fields(path: tuple[str, ...], global_table: bool) -> tuple[str, ...]:
    """The description fields a statement that sets path decides: an attribute; the
    protection fields under a Properties path that is a prefix of theirs; every field for a
    path lint cannot read (); for a global table, every protection field under its
    Replicas, whose order in the template lint cannot know."""
    if path in (REMOVAL_POLICY, ()):
        attributes: tuple[str, ...] = tuple(_ATTRIBUTES.values())
    else:
        attributes = (_ATTRIBUTES[path[0]],) if len(path) == 1 and path[0] in _ATTRIBUTES else ()
    if path == () or (global_table and path[:2] in (("Properties",), ("Properties", "Replicas"))):
        return attributes + tuple(PROPERTY_PATHS)
    if path[:1] != ("Properties",) or global_table:
        return attributes
    return tuple(field for field, place in PROPERTY_PATHS.items() if place[: len(path) - 1] == path[1:])


def decisive_overrides(call: ConstructCall) -> dict[str, Override]:
    """For each description field a later statement sets, the statement that decides it. CDK
    renders the removal policy and cfn_options in statement order, then applies the raw
    overrides, in statement order, over everything (so a raw override always wins)."""
    global_table = call.kind in ("TableV2", "CfnGlobalTable")
    decided: dict[str, Override] = {}
    for override in sorted(call.overrides, key=lambda override: override.raw):
        decided.update(dict.fromkeys(_fields(override.path, global_table), override))
    return decided


def _attribute(value: Value | Deleted) -> str | Unknown | None:
    """A DeletionPolicy / UpdateReplacePolicy from cfn_options (a CfnDeletionPolicy member)
    or a raw override (CloudFormation's string); deleted means absent, which is Delete."""
    if isinstance(value, Deleted):
        return None
    if (
        isinstance(value, Member)
        and value.enum == "CfnDeletionPolicy"
        and value.name in CFN_DELETION_POLICIES
    ):
        return CFN_DELETION_POLICIES[value.name]
    if isinstance(value, str) and value in _CLOUDFORMATION_POLICIES:
        return value
    return _unknown(value, "a deletion policy")


def _removal_policy(value: Value | Deleted) -> dict[str, Any]:
    """DeletionPolicy and UpdateReplacePolicy from a RemovalPolicy member."""
    if isinstance(value, Member) and value.enum == "RemovalPolicy" and value.name in REMOVAL_POLICIES:
        deletion, update_replace = REMOVAL_POLICIES[value.name]
        return {"deletion_policy": deletion, "update_replace_policy": update_replace}
    unknown = _unknown(None if isinstance(value, Deleted) else value, "a RemovalPolicy")
    return {"deletion_policy": unknown, "update_replace_policy": unknown}


def _settings(call: ConstructCall, settings: dict[str, Any]) -> dict[str, Any]:
    """The fields of a description after the statements that follow the call: policies
    (an L2's removalPolicy prop, absent: RETAIN, the CDK default; an L1 has none, absent:
    Delete, as CloudFormation reads it), then what decisive_overrides says."""
    settings = {"deletion_policy": None, "update_replace_policy": None, **settings}
    if call.kind in TABLE_CLASSES:
        value = call.props.get("removalPolicy") if isinstance(call.props, Props) else call.props
        settings.update(_removal_policy(Member("RemovalPolicy", "RETAIN") if value is None else value))
    global_table = call.kind in ("TableV2", "CfnGlobalTable")
    for field, override in decisive_overrides(call).items():
        if override.path == ():
            path = override.value if isinstance(override.value, NonLiteral) else None
            settings[field] = _unknown(path, "a literal path")
        elif override.path == REMOVAL_POLICY:
            settings[field] = _removal_policy(override.value)[field]
        elif field in _ATTRIBUTES.values():
            settings[field] = _attribute(override.value)
        elif global_table:
            where = f"{override.written_as} on line {override.line}"
            settings[field] = Unknown(f"is set by {where} in a replica whose place lint cannot know")
        else:
            settings[field] = _property(override, PROPERTY_PATHS[field][len(override.path) - 1 :], field)
            if field == "pitr_enabled":
                settings["pitr_specified"] = len(override.path) > 2 or isinstance(override.value, Props)
    return settings


def _property(override: Override, remaining: tuple[str, ...], field: str) -> Any:
    """The value an override of Properties gives a field, reached through the keys that
    remain below its path (a string "true" / "false" is the boolean it spells, as
    CloudFormation reads it; a deletion leaves the field unset)."""
    value: Any = override.value
    for name in remaining:
        if isinstance(value, Deleted):
            return None
        if not isinstance(value, Props):
            return _unknown(value, "a literal mapping")
        value = value.get(name)
    if isinstance(value, Deleted):
        return None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    return _days(value) if field == "recovery_period_days" else _bool(value)


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
        "set_at": {field: Decider(o.line, o.written_as) for field, o in decisive_overrides(call).items()},
    }
    props = call.props
    if isinstance(props, NonLiteral):
        unknown = _unknown(props, "props")
        settings = {"pitr_enabled": unknown, "recovery_period_days": unknown, "deletion_protection": unknown}
        return [TableDescription(**identity, **_settings(call, settings))]
    table_name = props.get("tableName")
    l2 = call.kind in TABLE_CLASSES
    common = {
        **identity,
        "table_name": table_name if isinstance(table_name, str) else None,
        "cdk_props": plain(props) if l2 else None,  # an L1 has no L2 props (TS002)
        "replacing_props": (replacing_props if l2 else l1_replacing_props)(resource_type, props),
    }
    return [
        TableDescription(**common, **_settings(call, settings)) for settings in _replicas(call.kind, props)
    ]


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


def ignore_comment(comment: Comment) -> re.Match[str] | None:
    """The `tablesafe: ignore[...]` suppression a comment holds, if it holds one."""
    return _IGNORE.search(comment.text)


def attached(comment: Comment, call: ConstructCall) -> bool:
    """A comment on a line of the call, or alone on the line right above it."""
    return call.line <= comment.line <= call.end_line or (comment.line == call.line - 1 and comment.alone)


def comment_suppressions(
    comments: Sequence[Comment], call: ConstructCall
) -> tuple[tuple[Suppression, ...], list[str]]:
    """`# tablesafe: ignore[TS003] reason (expires 2027-01-31)` (or `//`) on a line of the
    call, or alone on the line above it, with the same reason and date rules as Metadata
    suppressions; and the problems that make a comment unusable. Only comments of the
    language count (tablesafe.source.calls.Comment), never text in a string."""
    suppressions: list[Suppression] = []
    problems: list[str] = []
    for comment in comments:
        if not attached(comment, call) or (match := ignore_comment(comment)) is None:
            continue
        reason = match["reason"].strip(" :-—")
        expires, date_problem = parse_expiry(match["expires"])
        problem = reason_problem(reason) or date_problem
        for rule_id in filter(None, (part.strip().upper() for part in match["ids"].split(","))):
            if rule_id not in RULE_IDS:
                problems.append(f"line {comment.line}: tablesafe: ignore[{rule_id}] names no tablesafe rule")
                continue
            suppressions.append(Suppression(rule_id, reason, expires, "source comment", problem))
    return tuple(suppressions), problems
