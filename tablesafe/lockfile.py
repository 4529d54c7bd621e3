"""`tablesafe.lock.json`: the identity of every stateful table, for teams that keep no old
assemblies.

The lock records what replaces a table if it changes (stack, construct path, logical ID,
type, table name, key schema, local secondary indexes, import source) and the removal
policy that decides what a removal does. `tablesafe check` and the CDK Aspect compare
against it; a deliberate migration is recorded by re-locking with a reason, which the
lock keeps in its history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tablesafe.model import TABLE_TYPES, InputError, LoadResult, TableDescription, Unknown

if TYPE_CHECKING:
    from tablesafe.loader import FileVersion

LOCK_NAME = "tablesafe.lock.json"
LOCK_VERSION = 1


class LockProblem(Exception):
    """The lockfile cannot be used; the message says why and what to do."""


def _policy_out(value: str | Unknown | None) -> Any:
    return {"unknown": value.reason} if isinstance(value, Unknown) else value


def _policy_in(value: Any) -> str | Unknown | None:
    if isinstance(value, Mapping) and isinstance(value.get("unknown"), str):
        return Unknown(value["unknown"])
    return value if isinstance(value, str) else None


def lock_entries(tables: Iterable[TableDescription]) -> list[dict[str, Any]]:
    """One entry per table resource (replicas share it), sorted for stable diffs."""
    entries: dict[tuple[str, str, str], dict[str, Any]] = {}
    for table in tables:
        key = (table.stack or "", table.logical_id or "", table.construct_path or "")
        entries.setdefault(
            key,
            {
                "stack": table.stack,
                "construct_path": table.construct_path,
                "logical_id": table.logical_id,
                "type": table.resource_type,
                "table_name": table.table_name,
                "deletion_policy": _policy_out(table.deletion_policy),
                "update_replace_policy": _policy_out(table.update_replace_policy),
                "properties": dict(table.replacing_props or {}),
            },
        )
    return [entries[key] for key in sorted(entries)]


def lock_document(
    tables: Iterable[TableDescription], history: list[dict[str, Any]], tool_version: str
) -> dict[str, Any]:
    return {
        "lock_version": LOCK_VERSION,
        "generated_by": f"tablesafe {tool_version}",
        "tables": lock_entries(tables),
        "history": history,
    }


def history_entry(reason: str, changes: list[str], today: dt.date | None = None) -> dict[str, Any]:
    return {"date": (today or dt.date.today()).isoformat(), "reason": reason, "changes": changes}


_TEXT_KEYS = ("stack", "construct_path", "logical_id", "table_name")


def _table(entry: Any, index: int, shown: str) -> TableDescription:
    if not isinstance(entry, Mapping) or entry.get("type") not in TABLE_TYPES:
        raise LockProblem(f"tables[{index}] is not a table entry (it needs a DynamoDB resource type)")
    properties = entry.get("properties")
    text = {key: entry.get(key) if isinstance(entry.get(key), str) else None for key in _TEXT_KEYS}
    return TableDescription(
        resource_type=entry["type"],
        file=shown,
        **text,
        deletion_policy=_policy_in(entry.get("deletion_policy")),
        update_replace_policy=_policy_in(entry.get("update_replace_policy")),
        replacing_props=properties if isinstance(properties, Mapping) else None,
    )


class Lock(NamedTuple):
    tables: list[TableDescription]
    history: list[dict[str, Any]]
    version: FileVersion
    """The file as read: `tablesafe lock` replaces only this version."""


def read_lock(path: Path) -> Lock:
    """The locked tables and the history; LockProblem when the file cannot be trusted."""
    from tablesafe.loader import InputProblem, check_nesting, decode_text, parse_document, read_version

    try:
        read = read_version(path)
        text = decode_text(read.data)
    except InputProblem as problem:
        raise LockProblem(str(problem)) from None
    try:
        document = parse_document(text, path, json_only=True)
        check_nesting(document)  # its properties are compared and written back
    except InputProblem as problem:
        raise LockProblem(f"is corrupt ({problem}); restore it or run `tablesafe lock`") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("lock_version"), int):
        raise LockProblem("is not a tablesafe lockfile (no lock_version)")
    version = document["lock_version"]
    if version > LOCK_VERSION:
        raise LockProblem(
            f"was written by a newer tablesafe (lock version {version}; this one reads up to "
            f"{LOCK_VERSION}): upgrade tablesafe"
        )
    tables, history = document.get("tables"), document.get("history", [])
    if not isinstance(tables, list):
        raise LockProblem("has no list of tables")
    if not isinstance(history, list):
        raise LockProblem("has a history that is not a list")
    return Lock([_table(entry, i, str(path)) for i, entry in enumerate(tables)], history, read)


def locked_changes(old_tables: list[TableDescription], loaded: LoadResult, shown: str) -> list[str]:
    """What re-locking would rewrite: TS005/TS006 messages, and locked tables that leave."""
    from tablesafe.changes import describe_where, pair_tables
    from tablesafe.config import Config
    from tablesafe.engine import evaluate

    changes, _ = pair_tables(old_tables, loaded.tables, baseline=shown, new_stacks=loaded.stack_names)
    findings = evaluate([], Config(), changes=changes)
    judged = {id(finding.table) for finding in findings}
    return [finding.message for finding in findings] + [
        f"{describe_where(change)} leaves the stack"
        for change in changes
        if change.new is None and id(change.old) not in judged
    ]


def lock_error(path: Path, problem: LockProblem) -> InputError:
    return InputError(str(path), f"lockfile {problem}")


def locked_tables(
    lock: str | Path | None, start: Path
) -> tuple[list[TableDescription], str | None, list[InputError]]:
    """The tables of the lockfile that applies (lock, else the nearest tablesafe.lock.json
    from start up), how messages name that baseline, and why the lock cannot be used."""
    from tablesafe.config import find_upwards

    path = Path(lock) if lock else find_upwards(start, LOCK_NAME)
    if path is None:
        return [], None, []
    try:
        return read_lock(path).tables, f"locked in {path}", []
    except LockProblem as problem:
        return [], None, [lock_error(path, problem)]
