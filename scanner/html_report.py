"""The audit as self-contained HTML pages for people: the report (tables as rows, rules as
columns, then each table's findings with their fixes) and each runbook as a page.

Inline CSS only (no scripts, no external assets), so the pages can be mailed, attached to
a ticket or opened from an artifact store. They are Jinja2 templates with autoescaping:
every value from AWS (tag values, table names, error messages, the fixes that quote them) is
data, never markup, and the only links are the relative paths of the files tablesafe wrote
and anchors within the page. A runbook page is its Markdown rendered by markdown-it with raw
HTML off and only https links: the Markdown already holds every AWS value as a code span or
escaped text (scanner/runbook.py), so no value becomes markup there either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FunctionLoader
from markdown_it import MarkdownIt
from markupsafe import Markup

from tablesafe import neutralize
from tablesafe.model import Finding, Report, Rule, Severity, TableDescription, Unknown
from tablesafe.remediation import of_finding
from tablesafe.reports._common import all_rules, plural, summary_line
from tablesafe.rules.ts004_removal_policy_not_retain import RULE as TS004

from .blueprint import blueprint, pitr_view, runbook_path
from .drill_results import PROVEN, DrillHistory, TableKey, drill_view, duration
from .live import describe_record
from .records import TableRecord

REPORT_PAGE = "report.html"
LIVE_RULES = frozenset({"TS001", "TS003", "TS004", "TS007", "TS008"})
"""The rules that judge a deployed table; the others need CDK code or a baseline, and would
only show a column of meaningless passes."""

PASS, FAIL, WARN, INFO, SUPPRESSED, UNKNOWN = "pass", "fail", "warn", "info", "suppressed", "unknown"
NOT_APPLICABLE = "na"
NO_STACK = "n/a (no stack)"
"""TS004 on a table no stack manages: there is no DeletionPolicy to judge, and no stack to
delete the table (a pass there would claim a Retain that nobody set)."""
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


def runbook_page_path(root: Path, record: TableRecord) -> Path:
    """The runbook as an HTML page, beside its Markdown: the same name with ``.html``."""
    return runbook_path(root, record).with_suffix(".html")


def _href(path: Path) -> str:
    """A relative path as a link: URL-quoted, so no name can end the attribute or add a scheme."""
    return quote(path.as_posix())


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

    @property
    def unmanaged(self) -> bool:
        """The owning-stack lookup answered, and no stack owns the table."""
        return self.record.stack is None and self.record.stack_known

    def findings(self, rule: Rule, findings: list[Finding]) -> list[Finding]:
        return [
            f
            for f in findings
            if f.rule.id == rule.id and f.replica_region in (None, self.table.replica_region)
        ]


def _rows(record: TableRecord) -> list[_Row]:
    """The table's row, and one per replica of a global table."""
    bp = blueprint(record)
    return [_Row(record, table, bp) for table in describe_record(record).tables]


def _finalize(value: Any) -> Any:
    """Every value printed: None is empty, Markup (a rendered runbook, see render_runbook_page)
    is kept, anything else loses what HTML cannot hold (a lone surrogate could not even be
    written) and is then escaped by autoescaping."""
    if value is None:
        return ""
    return value if isinstance(value, Markup) else neutralize.markup(value)


_PAGES = Environment(
    loader=FunctionLoader(lambda name: files("tablesafe.scanner").joinpath(name).read_text(encoding="utf-8")),
    autoescape=True,
    keep_trailing_newline=True,
    finalize=_finalize,
)
"""The pages (``report.html.j2``, ``runbook.html.j2``, both extending ``page.html.j2``):
autoescaping makes every value data, never markup."""


_CDK_HASH = re.compile(r"(?<=.)[0-9A-F]{8}$")
"""The hash CDK appends to a construct path's words to make a logical ID."""
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def breakable_id(logical_id: str) -> Markup:
    """A logical ID with line-break opportunities (<wbr>) between its words and before the
    hash CDK appends: a narrow column breaks `CartsTable4A6E1B2C` as `CartsTable` and
    `4A6E1B2C`, never mid-word (the page breaks anywhere only what has no such point)."""
    digest = _CDK_HASH.search(logical_id)
    words = _WORD_START.split(logical_id[: digest.start()] if digest else logical_id)
    parts = [*words, digest.group()] if digest else words
    return Markup("<wbr>").join(neutralize.markup(part) for part in parts)


_PAGES.filters["breakable_id"] = breakable_id


def _cell(row: _Row, rule: Rule, matched: list[Finding]) -> dict[str, Any]:
    """One rule's verdict on one row: its state, the words shown, the messages on hover, and
    whether it links to the table's findings (it has some)."""
    if rule.id == TS004.id and not matched and row.unmanaged:
        return {
            "state": NOT_APPLICABLE,
            "label": NO_STACK,
            "title": "no CloudFormation stack manages this table",
            "linked": False,
        }
    state = cell_status(matched)
    title = " | ".join(
        f.message + (f" (suppressed: {f.suppression_reason})" if f.suppressed else "") for f in matched
    )
    return {"state": state, "label": state, "title": title, "linked": bool(matched)}


def _drill_cell(history: DrillHistory | None) -> dict[str, Any]:
    """The last drill of a table: its day, verdict and recovery time; the last proven day too
    when the last drill did not prove it."""
    view = drill_view(history)
    last, proven = view["last"], view["last_proven"]
    if last is None:
        return {"state": WARN, "label": "never drilled", "title": view["line"]}
    label = f"{last['date']} · {last['verdict']} · {duration(last['recovery_seconds'])}"
    if last["verdict"] != PROVEN:
        label += f" (last proven {proven['date']})" if proven else " (never proven)"
    return {"state": PASS if last["verdict"] == PROVEN else FAIL, "label": label, "title": view["line"]}


def _row_view(
    row: _Row,
    rules: list[Rule],
    findings: list[Finding],
    anchor: str,
    drills: Mapping[TableKey, DrillHistory] | None,
) -> dict[str, Any]:
    replica = row.replica
    status = replica.get("status") if replica is not None else row.record.status
    bp = row.blueprint
    tags = bp.get("tags") or {}
    return {
        "account": row.record.account,
        "region": row.region,
        "name": row.record.name,
        "page": _href(runbook_page_path(Path(), row.record)),
        "anchor": anchor,
        "replica": replica is not None,
        "tags": ", ".join(f"{k}={v}" for k, v in tags.items()),
        "status": status or "unknown",
        "stack": bp.get("stack"),
        "stack_state": "unmanaged" if bp.get("stack_known") else "unknown",
        "pitr": pitr_view(replica.get("pitr") if replica is not None else bp.get("pitr")),
        "cells": [_cell(row, rule, row.findings(rule, findings)) for rule in rules],
        "drill": None
        if drills is None
        else _drill_cell(drills.get((row.record.account, row.record.region, row.record.name))),
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
    """A finding with its fix: the summary, the one command, then the CDK code when a stack
    owns the table (each part empty when the fix has none)."""
    return {
        "state": SUPPRESSED if finding.suppressed else _FAILING[finding.severity],
        "rule_id": finding.rule.id,
        "rule_title": finding.rule.title,
        "severity": finding.severity.value,
        "replica": finding.replica_region,
        "message": finding.message,
        "suppressed": finding.suppressed,
        "reason": finding.suppression_reason,
        "fix": of_finding(finding),
    }


def _table_view(record: TableRecord, findings: list[Finding], anchor: str) -> dict[str, Any]:
    """One table's findings and fixes, and its runbook (the HTML page and the Markdown)."""
    return {
        "anchor": anchor,
        "name": record.name,
        "account": record.account,
        "region": record.region,
        "page": _href(runbook_page_path(Path(), record)),
        "markdown": _href(runbook_path(Path(), record)),
        "findings": [_finding_view(finding) for finding in findings],
    }


def render_html(
    report: Report,
    records: list[TableRecord],
    *,
    tool_version: str,
    drills: Mapping[TableKey, DrillHistory] | None = None,
) -> str:
    """The whole page: summary counts, the tables x rules grid (with each table's last drill
    when the audit read drill results), each table's findings with their fixes, read problems."""
    fired = {finding.rule.id for finding in report.findings}
    rules = [rule for rule in all_rules(report) if rule.id in LIVE_RULES or rule.id in fired]
    records = sorted(records, key=lambda r: (r.account, r.region, r.name))
    by_record = findings_by_record(records, report.findings)
    anchors = {id(record): f"table-{index}" for index, record in enumerate(records, 1)}
    rows = [row for record in records for row in _rows(record)]
    return _PAGES.get_template("report.html.j2").render(
        summary=summary_line(report),
        tool_version=tool_version,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        cards=_cards(report, records, rows),
        rules=rules,
        no_stack=NO_STACK,
        rows=[
            _row_view(row, rules, by_record[id(row.record)], anchors[id(row.record)], drills) for row in rows
        ],
        show_drills=drills is not None,
        findings_count=plural(len(report.findings), "finding"),
        tables=[
            _table_view(record, by_record[id(record)], anchors[id(record)])
            for record in records
            if by_record[id(record)]
        ],
        errors=report.errors,
        notices=report.notices,
    )


class _RunbookMarkdown(MarkdownIt):
    """CommonMark with GFM tables, raw HTML shown as text, no images, and https links only."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False})
        self.enable("table").disable("image")

    def validateLink(self, url: str) -> bool:
        return url.startswith("https://") and super().validateLink(url)


_RUNBOOK_MARKDOWN = _RunbookMarkdown()


def render_runbook_page(markdown: str, record: TableRecord) -> str:
    """The runbook (its Markdown, see scanner/runbook.py) as an HTML page, written beside it
    at runbook_page_path and linked from the report, so a reader gets formatted steps and
    code blocks instead of raw Markdown."""
    page = runbook_page_path(Path(), record)
    # markdown-it with raw HTML off is this page's neutralizer: its output is the markup.
    body = Markup(neutralize.markup(_RUNBOOK_MARKDOWN.render(markdown)))
    return _PAGES.get_template("runbook.html.j2").render(
        name=record.name,
        body=body,
        markdown=_href(Path(runbook_path(Path(), record).name)),
        report=_href(Path(*[".."] * (len(page.parts) - 1), REPORT_PAGE)),
    )
