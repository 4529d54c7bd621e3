"""Pair a baseline's tables with the new input's, and say what CloudFormation will do.

A baseline is whatever the tables were before: a previous cloud assembly or template, the
deployed stacks, or the lockfile. TS005 and TS006 judge the pairs; this module only finds
them and describes property differences and outcomes, so every adapter (check, lock, the
CDK Aspect, lint) pairs and words changes the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tablesafe.model import Notice, Severity, TableChange, TableDescription, Unknown
from tablesafe.replacement_data import REPLACING_PROPERTIES
from tablesafe.values import display

RETAINING_DELETION_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})
SAFE_MIGRATION_URL = "https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-import.html"
S3_IMPORT_URL = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataImport.HowItWorks.html"
)
_KEY_ORDER = {"HASH": 0, "RANGE": 1}


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """A replacement-forcing property that differs, in words a reader can check."""

    name: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.name} changes from {self.before} to {self.after}"


# --- property differences ----------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _key_pairs(schema: Any) -> tuple[tuple[str, str], ...] | None:
    """(KeyType, AttributeName) in HASH, RANGE order; None when not literal."""
    if not isinstance(schema, list) or not all(
        isinstance(k, Mapping) and isinstance(k.get("AttributeName"), str) for k in schema
    ):
        return None
    pairs = [(str(k.get("KeyType")), k["AttributeName"]) for k in schema]
    return tuple(sorted(pairs, key=lambda pair: _KEY_ORDER.get(pair[0], 2)))


def _canonical(name: str, value: Any) -> Hashable:
    """Equal for values CloudFormation treats as the same (key and index order aside)."""
    if value is None:
        return None
    if name == "KeySchema" and (pairs := _key_pairs(value)) is not None:
        return pairs
    if name == "LocalSecondaryIndexes" and isinstance(value, list):
        return tuple(sorted(_json(index) for index in value))
    return _json(value)


def _attribute_types(props: Mapping[str, Any]) -> dict[str, str]:
    definitions = props.get("AttributeDefinitions")
    if not isinstance(definitions, list):
        return {}
    return {
        d["AttributeName"]: str(d.get("AttributeType"))
        for d in definitions
        if isinstance(d, Mapping) and isinstance(d.get("AttributeName"), str)
    }


def _key_attributes(props: Mapping[str, Any]) -> set[str]:
    """Attributes of the table's keys and its local secondary indexes' keys."""
    schemas = [props.get("KeySchema")]
    indexes = props.get("LocalSecondaryIndexes")
    if isinstance(indexes, list):
        schemas.extend(index.get("KeySchema") for index in indexes if isinstance(index, Mapping))
    return {name for schema in schemas for _, name in (_key_pairs(schema) or ())}


def _show(name: str, value: Any, types: Mapping[str, str]) -> str:
    if value is None:
        return "a generated name" if name == "TableName" else "none"
    if name == "KeySchema" and (pairs := _key_pairs(value)) is not None:
        return " + ".join(f"{attr}:{types.get(attr, '?')} ({kind})" for kind, attr in pairs)
    if name == "LocalSecondaryIndexes" and isinstance(value, list):
        names = [str(i.get("IndexName")) if isinstance(i, Mapping) else display(i) for i in value]
        return "indexes " + ", ".join(names) if names else "none"
    return display(value)


def replacing_changes(old: TableDescription, new: TableDescription) -> list[PropertyChange]:
    """The differences between old and new that make CloudFormation replace the table."""
    before, after = old.replacing_props, new.replacing_props
    if before is None or after is None or before == after:  # equal as written: the common case
        return []
    old_types, new_types = _attribute_types(before), _attribute_types(after)
    changes = [
        PropertyChange(
            name, _show(name, before.get(name), old_types), _show(name, after.get(name), new_types)
        )
        for name in REPLACING_PROPERTIES.get(new.resource_type, {})
        if _canonical(name, before.get(name)) != _canonical(name, after.get(name))
    ]
    if not any(change.name == "KeySchema" for change in changes):
        for attribute in sorted(_key_attributes(before) & _key_attributes(after)):
            was, now = old_types.get(attribute), new_types.get(attribute)
            if was and now and was != now:
                changes.append(PropertyChange(f"the type of key attribute {attribute}", was, now))
    return changes


# --- what CloudFormation does --------------------------------------------------------------


def _policy_text(attribute: str, value: str | Unknown | None) -> str:
    if isinstance(value, Unknown):
        return f"{attribute} {value.reason}"
    return f"{attribute} {value}" if value else f"no {attribute}, which means Delete"


def removal_outcome(old: TableDescription) -> str:
    """What happens to the old table's data when its logical ID leaves the stack."""
    policy = old.deletion_policy
    if isinstance(policy, Unknown):
        return (
            "deletes or orphans the old table with its data, depending on DeletionPolicy, "
            f"which {policy.reason}"
        )
    if policy in RETAINING_DELETION_POLICIES:
        return f"orphans the old table ({policy}): its data stays, but no stack manages it"
    return (
        f"deletes the old table and its data ({_policy_text('DeletionPolicy', policy)}; "
        "deletion protection, when on, makes that delete fail and leaves the table orphaned)"
    )


def replacement_outcome(old: TableDescription, new: TableDescription) -> str:
    """What CloudFormation does when a replacement-forcing property changes."""
    if new.table_name and new.table_name == old.table_name:
        return (
            f"CloudFormation rejects the update: it cannot replace a table with the custom name "
            f"{new.table_name}, and renaming it to get past that creates a new, empty table"
        )
    policy = old.update_replace_policy
    if policy == "Retain":
        fate = "keeps the old table with its data (UpdateReplacePolicy Retain), but no stack manages it"
    elif isinstance(policy, Unknown):
        fate = (
            "deletes or keeps the old table with its data, depending on UpdateReplacePolicy, "
            f"which {policy.reason}"
        )
    else:
        fate = f"deletes the old table and its data ({_policy_text('UpdateReplacePolicy', policy)})"
    return (
        f"CloudFormation replaces the table: it creates a new, empty one, points the stack at it, and {fate}"
    )


def move_outcome(old: TableDescription, new: TableDescription) -> str:
    """What CloudFormation does when a table's construct moves to another stack."""
    if new.table_name and new.table_name == old.table_name:
        return (
            f"stack {new.stack} cannot create a table named {new.table_name} while stack {old.stack} "
            f"holds it, so its deployment fails; deploying {old.stack} first {removal_outcome(old)}, "
            f"and {new.stack} then creates a new, empty table under that name"
        )
    return (
        f"CloudFormation creates a new, empty table in stack {new.stack} ({new.logical_id}), which "
        f"the app then reads, and stack {old.stack} {removal_outcome(old)}"
    )


def describe_where(change: TableChange) -> str:
    """The pair in words: which table, where the baseline came from, how it was matched
    (a logical ID match goes without saying)."""
    old = change.old
    name = (
        (old.construct_path or "").removesuffix("/Resource") or old.logical_id or old.table_name or "a table"
    )
    stack = f" in stack {old.stack}" if old.stack and not name.startswith(f"{old.stack}/") else ""
    matched = (
        f", matched by {change.matched_by}"
        if change.new and change.matched_by and change.matched_by != "logical ID"
        else ""
    )
    return f"{name}{stack} ({change.baseline}{matched})"


# --- pairing -------------------------------------------------------------------------------


def _one_per_resource(tables: Iterable[TableDescription]) -> list[TableDescription]:
    """Replicas share their resource's identity: keep the first description of each."""
    seen: dict[tuple[object, ...], TableDescription] = {}
    for table in tables:
        seen.setdefault(table.resource_key, table)
    return list(seen.values())


def _key_schema(table: TableDescription) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(resource type, literal key schema): what a renamed or moved table keeps."""
    props = table.replacing_props
    pairs = _key_pairs(props.get("KeySchema")) if props else None
    return (table.resource_type, pairs) if pairs else None


def _key_schema_key(table: TableDescription) -> Hashable:
    """The key schema within the table's stack (a likely rename)."""
    key = _key_schema(table)
    return (table.stack, *key) if key else None


def _strategies(single_stack: bool) -> Sequence[tuple[str, Callable[[TableDescription], Hashable]]]:
    """How to recognise the same table, strongest first; a key shared by two tables of one
    side is ambiguous and matches nothing."""

    def logical_id(table: TableDescription) -> Hashable:
        if table.logical_id is None:
            return None
        return table.logical_id if single_stack else (table.stack, table.logical_id)

    return (
        ("logical ID", logical_id),
        ("construct path", lambda table: table.construct_path),
        ("table name", lambda table: table.table_name),
        ("key schema (a likely rename)", _key_schema_key),
    )


def _unique_index(
    tables: Iterable[TableDescription], key_of: Callable[[TableDescription], Hashable]
) -> dict[Hashable, TableDescription]:
    keyed = [(key_of(table), table) for table in tables]
    counts = Counter(key for key, _ in keyed if key is not None)
    return {key: table for key, table in keyed if key is not None and counts[key] == 1}


def _construct_id_key(table: TableDescription) -> Hashable:
    name = table.construct_id
    return (table.resource_type, name) if name else None


_MOVE_STRATEGIES: Sequence[tuple[str, Callable[[TableDescription], Hashable]]] = (
    ("construct id", _construct_id_key),
    ("table name", lambda table: table.table_name),
    ("key schema", _key_schema),
)
"""How a table that left one stack is recognised in another: a move, not a new table."""


def _cross_stack_moves(
    old: list[TableDescription], new: list[TableDescription], baseline: str
) -> list[TableChange]:
    """Pairs of a table that left one stack with one that appeared in another stack, each
    key unique among the unpaired tables (the removed ones stay in old otherwise)."""
    moves: list[TableChange] = []
    for matched_by, key_of in _MOVE_STRATEGIES:
        new_index = _unique_index(new, key_of)
        for key, old_table in _unique_index(old, key_of).items():
            new_table = new_index.get(key)
            if new_table is not None and new_table.stack != old_table.stack:
                moves.append(TableChange(old_table, new_table, matched_by, baseline))
                old.remove(old_table)
                new.remove(new_table)
    return moves


def pair_tables(
    old_tables: Iterable[TableDescription],
    new_tables: Iterable[TableDescription],
    *,
    baseline: str,
    new_stacks: Collection[str | None] | None = None,
) -> tuple[list[TableChange], list[Notice]]:
    """Every baseline table paired with its new self (matched by logical ID, construct path,
    table name, then a unique key schema in the same stack), or with None when it left one
    of new_stacks; and notices for what is not an error (orphans, stacks that are not in
    the new input). Without new_stacks (source files) removals are not judged."""
    old, new = _one_per_resource(old_tables), _one_per_resource(new_tables)
    old_stacks = {t.stack for t in old}
    single_stack = len(old_stacks) == 1 and new_stacks is not None and len(new_stacks) == 1
    changes: list[TableChange] = []
    for matched_by, key_of in _strategies(single_stack):
        new_index = _unique_index(new, key_of)
        old_index = _unique_index(old, key_of)
        for key, old_table in old_index.items():
            new_table = new_index.get(key)
            if new_table is not None:
                changes.append(TableChange(old_table, new_table, matched_by, baseline))
                old.remove(old_table)
                new.remove(new_table)
    notices: list[Notice] = []
    if new_stacks is None:
        return changes, notices
    changes += _cross_stack_moves(old, new, baseline)
    missing_stacks: set[str] = set()
    for table in old:
        if table.stack not in new_stacks and not single_stack:
            missing_stacks.add(table.stack or "(no stack)")
            continue
        change = TableChange(table, None, None, baseline)
        changes.append(change)
        if table.deletion_policy in RETAINING_DELETION_POLICIES:
            notices.append(
                Notice(
                    Severity.INFO,
                    f"{describe_where(change)} leaves the stack: CloudFormation {removal_outcome(table)}. "
                    f"Adopt it again with `cdk import` ({SAFE_MIGRATION_URL}).",
                    rule_id="TS006",
                )
            )
    if missing_stacks:
        notices.append(
            Notice(
                Severity.INFO,
                f"{baseline}: stack {', '.join(sorted(missing_stacks))} is not in the new input, so its "
                "tables were not compared (removing a stack from the app does not delete it).",
                rule_id="TS006",
            )
        )
    return changes, notices
