"""Turn what the audit read into the table descriptions every rule judges (source `live`).

What could not be read becomes Unknown("could not be read: ..."), so the rules report it
fail-closed, and an InputError, so the run says it is partial. A table in a transitional or
archived state is reported with a notice instead: its unreadable parts are not a tool error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from tablesafe.model import (
    TABLE,
    TABLE_TYPES,
    InputError,
    LoadResult,
    Notice,
    Severity,
    Source,
    TableDescription,
    Unknown,
)
from tablesafe.scanner.records import ReadProblem, ReplicaRecord, TableRecord

STATE_NOTES = {
    "CREATING": "is being created",
    "UPDATING": "is being updated",
    "DELETING": "is being deleted",
    "ARCHIVING": "is being archived (its KMS key has been inaccessible for seven days)",
    "ARCHIVED": "is archived (its KMS key was inaccessible); restore it from its last backup",
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS": "cannot be read: its KMS key is inaccessible",
}
"""Table states reported as such (a notice), with what they mean for the reader."""

UNMANAGED_POLICY = "Retain"
"""No stack can delete an unmanaged table, which is what Retain guarantees for a managed one."""
NO_DRILL_RESULTS = Unknown("no drill results were read (tablesafe audit --drills DIR)")
"""A table's last proven drill when the audit was given none to read (TS008 says so)."""


def where(account: str, region: str | None, name: str) -> str:
    return f"{account}/{region}/{name}"


def _unread(problems: list[ReadProblem], api: str) -> Unknown:
    problem = next((p for p in problems if p.api == api), None)
    detail = f"{api}: {problem.message}" if problem else f"{api} was not called (DescribeTable failed)"
    return Unknown(f"could not be read: {detail}")


def _pitr(backups: dict[str, Any] | None, problems: list[ReadProblem]) -> tuple[Any, Any]:
    """(pitr_enabled, recovery_period_days) from DescribeContinuousBackups."""
    if backups is None:
        unknown = _unread(problems, "DescribeContinuousBackups")
        return unknown, unknown
    pitr = backups.get("PointInTimeRecoveryDescription") or {}
    return pitr.get("PointInTimeRecoveryStatus") == "ENABLED", pitr.get("RecoveryPeriodInDays")


def _deletion_protection(describe: dict[str, Any] | None, problems: list[ReadProblem]) -> bool | Unknown:
    if describe is None:
        return _unread(problems, "DescribeTable")
    return bool(describe.get("DeletionProtectionEnabled", False))


def _policies(record: TableRecord) -> tuple[str | Unknown | None, str | Unknown | None]:
    """(DeletionPolicy, UpdateReplacePolicy) of the owning stack's resource."""
    stack = record.stack
    if stack is None:
        if record.stack_known:
            return UNMANAGED_POLICY, UNMANAGED_POLICY
        unknown = _unread(record.problems, "DescribeStackResources")
        return unknown, unknown
    if not stack.template_read:
        unknown = _unread(record.problems, "GetTemplate")
        return unknown, unknown
    return stack.deletion_policy, stack.update_replace_policy


def describe_record(
    record: TableRecord, last_proven: dt.date | Unknown | None = NO_DRILL_RESULTS
) -> LoadResult:
    """One description per table, or per replica of a global table, with its errors and
    notices; last_proven is the day of its last successful drill (None: never)."""
    result = LoadResult()
    stack = record.stack
    deletion_policy, update_replace_policy = _policies(record)
    resource_type = stack.resource_type if stack and stack.resource_type in TABLE_TYPES else TABLE
    pitr, days = _pitr(record.continuous_backups, record.problems)
    base = TableDescription(
        resource_type=resource_type,
        source=Source.LIVE,
        stack=stack.name if stack else None,
        logical_id=stack.logical_id if stack else None,
        construct_path=stack.construct_path if stack else None,
        table_name=record.name,
        table_arn=record.arn,
        pitr_enabled=pitr,
        recovery_period_days=days,
        deletion_protection=_deletion_protection(record.describe, record.problems),
        deletion_policy=deletion_policy,
        update_replace_policy=update_replace_policy,
        last_proven=last_proven,
    )
    if (record.describe or {}).get("Replicas"):
        result.tables.append(replace(base, replica_region=record.region))
        result.tables.extend(_replica(base, replica) for replica in record.replicas)
    else:
        result.tables.append(base)

    problems = record.problems + [p for replica in record.replicas for p in replica.problems]
    name = where(record.account, record.region, record.name)
    state = STATE_NOTES.get(record.status)
    if state:
        unread = "".join(f"; could not read {p.api}: {p.message}" for p in problems)
        result.notices.append(
            Notice(Severity.WARNING, f"table {name} {state} (status {record.status}){unread}")
        )
    else:
        result.errors.extend(
            InputError(where(record.account, p.region or record.region, record.name), f"{p.api}: {p.message}")
            for p in problems
        )
    if stack is None and record.stack_known:
        result.notices.append(Notice(Severity.INFO, f"unmanaged: no CloudFormation stack owns table {name}"))
    return result


def _replica(base: TableDescription, replica: ReplicaRecord) -> TableDescription:
    """A replica read in its own region: PITR and deletion protection are its own."""
    pitr, days = _pitr(replica.continuous_backups, replica.problems)
    return replace(
        base,
        replica_region=replica.region,
        pitr_enabled=pitr,
        recovery_period_days=days,
        deletion_protection=_deletion_protection(replica.describe, replica.problems),
    )


def describe_records(
    records: Iterable[TableRecord], proven: Mapping[tuple[str, str, str], dt.date] | None = None
) -> LoadResult:
    """All records as one LoadResult; stacks counts the distinct owning stacks. proven: the
    day each drilled table was last proven, by (account, region, name); None when the audit
    read no drill results."""
    result = LoadResult()
    stacks: set[tuple[str, str, str]] = set()
    for record in records:
        day = NO_DRILL_RESULTS if proven is None else proven.get((record.account, record.region, record.name))
        result.extend(describe_record(record, day))
        if record.stack:
            stacks.add((record.account, record.region, record.stack.name))
    result.stacks = len(stacks)
    return result
