"""The audit as one self-contained HTML page for people: tables as rows, rules as columns.

Inline CSS only (no scripts, no external assets), so the page can be mailed, attached to
a ticket or opened from an artifact store. Every value from AWS is escaped: tag values,
table names and error messages are data, never markup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tablesafe.model import Finding, Report, Rule, Severity, TableDescription, Unknown
from tablesafe.reports._common import all_rules, plural, summary_line

from .blueprint import blueprint, blueprint_path
from .live import describe_record
from .records import TableRecord

LIVE_RULES = frozenset({"TS001", "TS003", "TS004", "TS007"})
"""The rules that judge a deployed table; the others need CDK code or a baseline, and would
only show a column of meaningless passes."""

PASS, FAIL, WARN, INFO, SUPPRESSED, UNKNOWN = "pass", "fail", "warn", "info", "suppressed", "unknown"
_FAILING = {Severity.ERROR: FAIL, Severity.WARNING: WARN, Severity.INFO: INFO}

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#656d76}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa;position:sticky;top:0}
td.c{text-align:center;font-weight:600;white-space:nowrap}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}
.warn{background:#fff8c5;color:#7d4e00}.info{background:#ddf4ff;color:#0550ae}
.suppressed{background:#eaeef2;color:#57606a}.unknown{background:#fbefff;color:#6e40c9}
.bar{background:#eaeef2;border-radius:3px;height:8px;width:120px;margin-top:3px}
.bar span{display:block;height:8px;border-radius:3px;background:#2da44e}
code{font-size:12px}ul{padding-left:20px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


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


def _pitr_cell(pitr: Mapping[str, Any] | None) -> str:
    """Status, restorable window and a bar: how much of the recovery period is restorable."""
    if pitr is None:
        return '<span class="muted">unknown</span>'
    status = pitr.get("status") or "unknown"
    if status != "ENABLED":
        return f'<span class="fail">{_e(status)}</span>'
    period = pitr.get("recovery_period_days") or 35
    earliest, latest = pitr.get("earliest_restorable"), pitr.get("latest_restorable")
    window = _days(earliest, latest)
    text = f"{_e(period)} days"
    if window is None:
        return text
    width = max(0.0, min(100.0, 100 * window / period))
    return (
        f'{text}<br><span class="muted">{_e(str(earliest)[:16])} to {_e(str(latest)[:16])}</span>'
        f'<div class="bar" title="{window:.1f} of {_e(period)} days restorable">'
        f'<span style="width:{width:.0f}%"></span></div>'
    )


def _stack_cell(bp: Mapping[str, Any]) -> str:
    stack = bp.get("stack")
    if stack:
        logical = (
            f'<br><span class="muted">{_e(stack.get("logical_id"))}</span>' if stack.get("logical_id") else ""
        )
        return _e(stack["name"]) + logical
    return (
        '<span class="muted">unmanaged</span>'
        if bp.get("stack_known")
        else '<span class="muted">unknown</span>'
    )


def _rows(records: list[TableRecord]) -> list[_Row]:
    rows = []
    for record in sorted(records, key=lambda r: (r.account, r.region, r.name)):
        bp = blueprint(record)
        rows += [_Row(record, table, bp) for table in describe_record(record).tables]
    return rows


def _row_html(row: _Row, rules: list[Rule], findings: list[Finding]) -> str:
    replica = row.replica
    status = replica.get("status") if replica is not None else row.record.status
    pitr = replica.get("pitr") if replica is not None else row.blueprint.get("pitr")
    runbook = blueprint_path(Path("."), row.record).with_suffix(".md").as_posix()
    name = f'<a href="{_e(runbook)}">{_e(row.record.name)}</a>'
    if replica is not None:
        name += ' <span class="muted">(replica)</span>'
    tags = row.blueprint.get("tags") or {}
    if tags:
        name += '<br><span class="muted">' + _e(", ".join(f"{k}={v}" for k, v in tags.items())) + "</span>"
    cells = [
        _e(row.record.account),
        _e(row.region),
        name,
        _e(status or "unknown"),
        _stack_cell(row.blueprint),
        _pitr_cell(pitr),
    ]
    out = "".join(f"<td>{cell}</td>" for cell in cells)
    for rule in rules:
        matched = row.findings(rule, findings)
        state = cell_status(matched)
        title = " | ".join(
            f.message + (f" (suppressed: {f.suppression_reason})" if f.suppressed else "") for f in matched
        )
        out += f'<td class="c {state}" title="{_e(title)}">{state}</td>'
    return f"<tr>{out}</tr>"


def _cards(report: Report, records: list[TableRecord], rows: list[_Row]) -> str:
    summary = report.summary()
    main = [row for row in rows if row.replica is None]
    cards = [
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
    return (
        '<div class="cards">'
        + "".join(f"<div class=card><b>{_e(v)}</b>{_e(k)}</div>" for k, v in cards)
        + "</div>"
    )


def _findings_list(findings: list[Finding]) -> str:
    items = []
    for finding in findings:
        table = finding.table
        where = table.table_arn or table.table_name or table.display_name
        if finding.replica_region:
            where += f" (replica {finding.replica_region})"
        state = SUPPRESSED if finding.suppressed else _FAILING[finding.severity]
        reason = f" — suppressed: {_e(finding.suppression_reason)}" if finding.suppressed else ""
        items.append(
            f'<li><span class="{state}">{_e(finding.rule.id)} {_e(finding.severity.value)}</span> '
            f"<code>{_e(where)}</code>: {_e(finding.message)}{reason}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>" if items else '<p class="muted">No findings.</p>'


def render_html(report: Report, records: list[TableRecord], *, tool_version: str) -> str:
    """The whole page: summary counts, the tables x rules grid, findings, read problems."""
    fired = {finding.rule.id for finding in report.findings}
    rules = [rule for rule in all_rules(report) if rule.id in LIVE_RULES or rule.id in fired]
    rows = _rows(records)
    by_record = findings_by_record(records, report.findings)
    head = "".join(
        f"<th>{label}</th>" for label in ("Account", "Region", "Table", "Status", "Stack", "PITR window")
    ) + "".join(f'<th title="{_e(rule.title)}">{_e(rule.id)}<br>{_e(rule.slug)}</th>' for rule in rules)
    body = "".join(_row_html(row, rules, by_record[id(row.record)]) for row in rows)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>tablesafe audit</title><style>{_CSS}</style></head><body>",
        "<h1>tablesafe audit</h1>",
        f'<p class="muted">{_e(summary_line(report))} · tablesafe {_e(tool_version)} · '
        f"{_e(dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        _cards(report, records, rows),
        "<h2>Tables</h2>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if rows
        else '<p class="muted">No tables were found.</p>',
        '<p class="muted">Cells: pass, fail (error), warn, info, suppressed, unknown (an input could not be '
        "read). Hover a cell for the messages; each table name links to its recreation runbook.</p>",
        f"<h2>Findings ({_e(plural(len(report.findings), 'finding'))})</h2>",
        _findings_list(report.findings),
    ]
    if report.errors:
        parts.append(f"<h2>Could not be read ({len(report.errors)})</h2><ul>")
        parts += [f"<li><code>{_e(error.path)}</code>: {_e(error.problem)}</li>" for error in report.errors]
        parts.append("</ul>")
    if report.notices:
        parts.append("<h2>Notices</h2><ul>")
        parts += [f"<li>{_e(notice.level.value)}: {_e(notice.message)}</li>" for notice in report.notices]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
