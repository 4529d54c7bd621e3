"""Markdown for a pull-request comment or a GitHub step summary.

Values from the inputs are never markup: names and paths are inline code spans they cannot
close (neutralize.markdown_code), messages and reasons escaped prose (markdown_text). The
only HTML is tablesafe's own <details>, and the only links are in the rules' fixes.
"""

from __future__ import annotations

import html

from tablesafe.model import CONFIG_ERROR, Finding, Report
from tablesafe.neutralize import markdown_cell, markdown_code, markdown_text
from tablesafe.neutralize import text as shown_text
from tablesafe.remediation import of_finding

from ._common import SYMBOL, active, failed, fix_markdown, stack_of, subject, summary_line


def _resource(finding: Finding) -> str:
    table = finding.table
    name = markdown_code(subject(table, finding.rule))
    if table.construct_path and table.logical_id:
        name += f" ({markdown_code(table.logical_id)})"
    return name


def _row(*cells: str) -> str:
    return "| " + " | ".join(markdown_cell(c) for c in cells) + " |"


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
                markdown_text(stack_of(f.table)),
                _resource(f),
                markdown_text(f.message),
            )
            for f in findings
        ]
        for finding in findings:
            # <summary> is an HTML block: Markdown is not rendered there, HTML escaping applies
            table = html.escape(shown_text(subject(finding.table, finding.rule)))
            summary = f"How to fix {finding.rule.id} on {table}"
            lines += _details(summary, [fix_markdown(of_finding(finding))])
    suppressed = [f for f in report.findings if f.suppressed]
    if suppressed:
        table = ["| Rule | Stack | Resource | Reason |", "|---|---|---|---|"]
        table += [
            _row(
                f.rule.id,
                markdown_text(stack_of(f.table)),
                _resource(f),
                markdown_text(f.suppression_reason or ""),
            )
            for f in suppressed
        ]
        lines += _details(f"{len(suppressed)} suppressed", table)
    for kind, title in ((CONFIG_ERROR, "Configuration errors"), ("input", "Inputs that could not be read")):
        if errors := [error for error in report.errors if error.kind == kind]:
            lines += ["", f"**{title}**", ""]
            lines += [f"- {markdown_code(error.path)}: {markdown_text(error.problem)}" for error in errors]
    if report.notices:
        lines += ["", "**Notices**", ""]
        lines += [f"- {notice.level.value}: {markdown_text(notice.message)}" for notice in report.notices]
    return "\n".join(lines) + "\n"
