"""The report for people in a terminal: findings grouped by stack, each with its fix.

Every value from the inputs (names, paths, messages, reasons, errors) is shown through
neutralize.text, so none can style the terminal or start a line of its own.
"""

from __future__ import annotations

import textwrap

from tablesafe.model import Finding, Report, Severity
from tablesafe.neutralize import text as shown

from ._common import (
    SYMBOL,
    failed,
    group_by_stack,
    relative_path,
    scope,
    snippets,
    subject,
    summary_line,
)

WIDTH = 100
_ANSI = {"bold": "1", "dim": "2", "red": "31", "yellow": "33", "cyan": "36"}
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


class _Painter:
    """Wraps text in ANSI styles only when colour is on, so callers never branch on it."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(_ANSI[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def _wrap(text: str, indent: int) -> list[str]:
    """Wrap each paragraph to WIDTH without splitting paths or identifiers; each is shown
    neutralized, as a value it quotes could start a wrapped line."""
    pad = " " * indent
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(
            shown(paragraph),
            WIDTH,
            initial_indent=pad,
            subsequent_indent=pad,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [pad]
    return lines


def _finding(finding: Finding, paint: _Painter) -> list[str]:
    """One finding with its own fix: the code names this table, in the app's language."""
    rule, table = finding.rule, finding.table
    style = _SEVERITY_STYLE[finding.severity]
    head = "  " + paint(f"{SYMBOL[finding.severity]} {rule.id}", style, "bold")
    head += f" {rule.slug}  {shown(subject(table, rule))}"
    if table.construct_path and table.logical_id:
        head += " " + paint(f"[{shown(table.logical_id)}]", "dim")
    if table.line:
        head += " " + paint(f"line {table.line}", "dim")
    lines = [head, *_wrap(shown(finding.message), 4)]
    fix = finding.remediation
    lines += [paint(line, "dim") for line in _wrap(f"fix: {fix.summary}", 4)]
    for label, _, code in snippets(fix):
        lines.append(paint(f"      {label}:", "dim"))
        lines += [paint(f"        {shown(line)}", "dim") for line in code.splitlines()]
    return lines


def _suppressed(finding: Finding, paint: _Painter) -> list[str]:
    reason = finding.suppression_reason or "no reason given"
    text = f"○ suppressed {finding.rule.id} {subject(finding.table, finding.rule)}: {reason}"
    return [paint(line, "dim") for line in _wrap(shown(text), 2)]


def render_text(report: Report, *, color: bool, tool_version: str) -> str:
    paint = _Painter(color)
    lines = [f"{paint(f'tablesafe {tool_version}', 'bold')}  checked {scope(report)}"]
    for stack, findings in group_by_stack(report.findings, lambda f: f.table).items():
        files = dict.fromkeys(relative_path(f.table.file) for f in findings if f.table.file)
        heading = paint(shown(stack), "bold")
        if list(files) != [stack]:
            heading += "  " + paint(shown(", ".join(files)), "dim")
        lines += ["", heading]
        for finding in findings:
            if not finding.suppressed:
                lines += _finding(finding, paint)
        for finding in findings:
            if finding.suppressed:
                lines += _suppressed(finding, paint)
    trailer = [paint("error:", "red", "bold") + f" {shown(error)}" for error in report.errors]
    trailer += [
        paint(f"{notice.level.value}:", _SEVERITY_STYLE[notice.level]) + f" {shown(notice.message)}"
        for notice in report.notices
    ]
    if trailer:
        lines += ["", *trailer]
    outcome = ("red", "bold") if failed(report) else ("bold",)
    lines += ["", paint(summary_line(report), *outcome)]
    return "\n".join(lines) + "\n"
