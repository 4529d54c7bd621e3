"""Markdown for a pull-request comment or a GitHub step summary."""

from __future__ import annotations

from tablesafe.model import Finding, Report

from ._common import SYMBOL, active, all_rules, failed, fix_markdown, stack_of, subject, summary_line


def cell(text: str) -> str:
    """Table-cell safe: a pipe would end the cell and a newline the row."""
    return text.replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")


def _resource(finding: Finding) -> str:
    table = finding.table
    name = f"`{subject(table, finding.rule)}`"
    if table.construct_path and table.logical_id:
        name += f" (`{table.logical_id}`)"
    return name


def _row(*cells: str) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def _details(summary: str, body: list[str]) -> list[str]:
    return ["", f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]


def render_markdown(report: Report, *, tool_version: str) -> str:
    status = "failed" if failed(report) else "passed"
    mark = "✖" if status == "failed" else "✔"
    lines = [f"## {mark} tablesafe {status}", "", f"{summary_line(report)} (tablesafe {tool_version})"]
    findings = active(report.findings)
    if findings:
        lines += ["", "| Severity | Rule | Stack | Resource | Message |", "|---|---|---|---|---|"]
        lines += [
            _row(
                f"{SYMBOL[f.severity]} {f.severity.value}",
                f"{f.rule.id} {f.rule.slug}",
                stack_of(f.table),
                _resource(f),
                f.message,
            )
            for f in findings
        ]
        failing_rules = {f.rule.id for f in findings}
        for rule in all_rules(report):
            if rule.id in failing_rules:
                summary = f"How to fix {rule.id} {rule.slug}: {rule.title}"
                lines += _details(summary, [fix_markdown(rule.remediation)])
    suppressed = [f for f in report.findings if f.suppressed]
    if suppressed:
        table = ["| Rule | Stack | Resource | Reason |", "|---|---|---|---|"]
        table += [
            _row(f.rule.id, stack_of(f.table), _resource(f), f.suppression_reason or "") for f in suppressed
        ]
        lines += _details(f"{len(suppressed)} suppressed", table)
    if report.errors:
        lines += ["", "**Inputs that could not be read**", ""]
        lines += [f"- `{error.path}`: {error.problem}" for error in report.errors]
    if report.notices:
        lines += ["", "**Notices**", ""]
        lines += [f"- {notice.level.value}: {notice.message}" for notice in report.notices]
    return "\n".join(lines) + "\n"
