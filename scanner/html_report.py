"""The audit as one self-contained HTML page for people: tables as rows, rules as columns.

Inline CSS only (no scripts, no external assets), so the page can be mailed, attached to
a ticket or opened from an artifact store. The page is a Jinja2 template with autoescaping:
every value from AWS (tag values, table names, error messages) is data, never markup, and
the only links are the relative paths of the runbooks tablesafe wrote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment

from tablesafe import neutralize
from tablesafe.model import Finding, Report, Rule, Severity, TableDescription, Unknown
from tablesafe.reports._common import all_rules, plural, summary_line

from .blueprint import blueprint, runbook_path
from .live import describe_record
from .records import TableRecord

LIVE_RULES = frozenset({"TS001", "TS003", "TS004", "TS007"})
"""The rules that judge a deployed table; the others need CDK code or a baseline, and would
only show a column of meaningless passes."""

PASS, FAIL, WARN, INFO, SUPPRESSED, UNKNOWN = "pass", "fail", "warn", "info", "suppressed", "unknown"
_FAILING = {Severity.ERROR: FAIL, Severity.WARNING: WARN, Severity.INFO: INFO}


def findings_by_record(
    records: Iterable[TableRecord], findings: Iterable[Finding]
) -> dict[int, list[Finding]]:
    """id(record) -> the findings about its table: by ARN when both sides have one, else by
    name. Indexed once, so a run of thousands of tables stays linear."""
    with_arn: dict[str, list[Finding]] = defaultdict(list)
    by_name: dict[str | None, list[Finding]] = defaultdict(list)
    without_arn: dict[str | None, list[Finding]] = defaultdict(list)
    for finding in findings:
        table = finding.table
        by_name[table.table_name].append(finding)
        if table.table_arn:
            with_arn[table.table_arn].append(finding)
        else:
            without_arn[table.table_name].append(finding)
    return {
        id(record): with_arn[record.arn] + without_arn[record.name] if record.arn else by_name[record.name]
        for record in records
    }


def _rests_on_unknown(finding: Finding) -> bool:
    """A verdict given only because an input could not be read (the message names the reason)."""
    table = finding.table
    values = (getattr(table, f.name) for f in dataclasses.fields(TableDescription))
    return any(isinstance(value, Unknown) and value.reason in finding.message for value in values)


def cell_status(findings: list[Finding]) -> str:
    """pass / fail / warn / info / suppressed / unknown for one rule and one row."""
    active = [f for f in findings if not f.suppressed]
    if not active:
        return SUPPRESSED if findings else PASS
    if all(_rests_on_unknown(f) for f in active):
        return UNKNOWN
    return _FAILING[max((f.severity for f in active), key=lambda s: s.rank)]


@dataclass(slots=True)
class _Row:
    record: TableRecord
    table: TableDescription
    blueprint: Mapping[str, Any]

    @property
    def region(self) -> str:
        return self.table.replica_region or self.record.region

    @property
    def replica(self) -> Mapping[str, Any] | None:
        """The blueprint's replica entry when this row is a replica in another region."""
        if self.region == self.record.region:
            return None
        return next((r for r in self.blueprint.get("replicas") or [] if r.get("region") == self.region), {})

    def findings(self, rule: Rule, findings: list[Finding]) -> list[Finding]:
        return [
            f
            for f in findings
            if f.rule.id == rule.id and f.replica_region in (None, self.table.replica_region)
        ]


def _days(start: str | None, end: str | None) -> float | None:
    try:
        return (
            dt.datetime.fromisoformat(str(end)) - dt.datetime.fromisoformat(str(start))
        ).total_seconds() / 86400
    except ValueError:
        return None


def _rows(records: list[TableRecord]) -> list[_Row]:
    rows = []
    for record in sorted(records, key=lambda r: (r.account, r.region, r.name)):
        bp = blueprint(record)
        rows += [_Row(record, table, bp) for table in describe_record(record).tables]
    return rows


_TEMPLATE = Environment(
    autoescape=True,
    keep_trailing_newline=True,
    finalize=lambda value: "" if value is None else neutralize.markup(value),
).from_string(files("tablesafe.scanner").joinpath("report.html.j2").read_text(encoding="utf-8"))
"""The page (``report.html.j2``): autoescaping makes every value data, never markup, and
neutralize.markup drops what HTML cannot hold (a lone surrogate could not even be written)."""


def _pitr_view(pitr: Mapping[str, Any] | None) -> dict[str, Any]:
    """Status, restorable window and bar width: how much of the recovery period is restorable."""
    if pitr is None:
        return {"status": None}
    status = pitr.get("status") or "unknown"
    period = pitr.get("recovery_period_days") or 35
    earliest, latest = pitr.get("earliest_restorable"), pitr.get("latest_restorable")
    window = _days(earliest, latest) if status == "ENABLED" else None
    try:
        width = None if window is None else max(0.0, min(100.0, 100 * window / float(period)))
    except (TypeError, ValueError, ZeroDivisionError):
        window = width = None
    return {
        "status": status,
        "period": period,
        "earliest": str(earliest)[:16],
        "latest": str(latest)[:16],
        "window": window,
        "width": width,
    }


def _row_view(row: _Row, rules: list[Rule], findings: list[Finding]) -> dict[str, Any]:
    replica = row.replica
    status = replica.get("status") if replica is not None else row.record.status
    bp = row.blueprint
    tags = bp.get("tags") or {}
    cells = []
    for rule in rules:
        matched = row.findings(rule, findings)
        title = " | ".join(
            f.message + (f" (suppressed: {f.suppression_reason})" if f.suppressed else "") for f in matched
        )
        cells.append({"state": cell_status(matched), "title": title})
    return {
        "account": row.record.account,
        "region": row.region,
        "name": row.record.name,
        "runbook": quote(runbook_path(Path(), row.record).as_posix()),
        "replica": replica is not None,
        "tags": ", ".join(f"{k}={v}" for k, v in tags.items()),
        "status": status or "unknown",
        "stack": bp.get("stack"),
        "stack_state": "unmanaged" if bp.get("stack_known") else "unknown",
        "pitr": _pitr_view(replica.get("pitr") if replica is not None else bp.get("pitr")),
        "cells": cells,
    }


def _cards(report: Report, records: list[TableRecord], rows: list[_Row]) -> list[tuple[str, Any]]:
    summary = report.summary()
    main = [row for row in rows if row.replica is None]
    return [
        ("tables", len(records)),
        ("accounts", len({r.account for r in records})),
        ("regions", len({row.region for row in rows})),
        ("errors", summary["errors"]),
        ("warnings", summary["warnings"]),
        ("suppressed", summary["suppressed"]),
        (
            "PITR on (tables and replicas)",
            f"{sum(row.table.pitr_enabled is True for row in rows)}/{len(rows)}",
        ),
        ("deletion protection", f"{sum(row.table.deletion_protection is True for row in rows)}/{len(rows)}"),
        ("tables partly unreadable", sum(bool(row.blueprint["unreadable"]) for row in main)),
    ]


def _finding_view(finding: Finding) -> dict[str, Any]:
    table = finding.table
    where = table.table_arn or table.table_name or table.display_name
    if finding.replica_region:
        where += f" (replica {finding.replica_region})"
    return {
        "state": SUPPRESSED if finding.suppressed else _FAILING[finding.severity],
        "rule_id": finding.rule.id,
        "severity": finding.severity.value,
        "where": where,
        "message": finding.message,
        "suppressed": finding.suppressed,
        "reason": finding.suppression_reason,
    }


def render_html(report: Report, records: list[TableRecord], *, tool_version: str) -> str:
    """The whole page: summary counts, the tables x rules grid, findings, read problems."""
    fired = {finding.rule.id for finding in report.findings}
    rules = [rule for rule in all_rules(report) if rule.id in LIVE_RULES or rule.id in fired]
    rows = _rows(records)
    by_record = findings_by_record(records, report.findings)
    return _TEMPLATE.render(
        summary=summary_line(report),
        tool_version=tool_version,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cards=_cards(report, records, rows),
        rules=rules,
        rows=[_row_view(row, rules, by_record[id(row.record)]) for row in rows],
        findings_count=plural(len(report.findings), "finding"),
        findings=[_finding_view(finding) for finding in report.findings],
        errors=report.errors,
        notices=report.notices,
    )
