"""The report for people in a terminal: findings grouped by stack, each with its fix.

Every value from the inputs (names, paths, messages, reasons, errors) is shown through
neutralize.text, so none can style the terminal or start a line of its own.
"""

from __future__ import annotations

import shutil
import textwrap

from tablesafe.model import CONFIG_ERROR, Finding, Report, Severity
from tablesafe.neutralize import text as shown
from tablesafe.remediation import of_finding

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

DEFAULT_WIDTH = 100
DETAILED_FINDINGS = 200
"""Findings shown with their message and fix; the rest by their heading line, so a run
over thousands of tables stays readable, and fast, in a terminal."""
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


def terminal_width() -> int:
    """COLUMNS, else the terminal's width, else DEFAULT_WIDTH (not a terminal); at least 40."""
    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


class _Layout:
    """Paints and wraps to the width, never breaking inside a path, an ID or a command."""

    def __init__(self, color: bool, width: int) -> None:
        self.paint = _Painter(color)
        self.width = width

    def wrap(self, text: str, indent: int, *styles: str) -> list[str]:
        """Each paragraph wrapped at spaces; each is shown neutralized, as a value it quotes
        could start a wrapped line."""
        pad = " " * indent
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            safe = shown(paragraph)
            if safe and indent + len(safe) <= self.width and safe == safe.strip():
                lines.append(pad + safe)  # what textwrap returns for a line that fits, 20 times faster
                continue
            lines += self._fill(safe, pad, pad + "  " if indent == 0 else pad) or [pad]
        return [self.paint(line, *styles) for line in lines]

    def _fill(self, text: str, first: str, rest: str) -> list[str]:
        """text wrapped at spaces only: a path, an ID or a command is never broken."""
        return textwrap.wrap(
            text,
            self.width,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )

    def code_line(self, line: str, indent: int) -> list[str]:
        """A line of a fix snippet: a comment is wrapped as a comment; code and commands are
        never broken (a reader pastes them)."""
        pad = " " * indent
        marker = next((m for m in ("# ", "// ") if line.lstrip().startswith(m)), None)
        if marker is None or len(pad) + len(line) <= self.width:
            return [self.paint(pad + shown(line), "dim")]
        lead = pad + line[: len(line) - len(line.lstrip())] + marker
        body = line.lstrip()[len(marker) :]
        return [self.paint(out, "dim") for out in self._fill(shown(body), lead, lead + "  ")]

    def labelled(self, label: str, text: str, styles: tuple[str, ...]) -> list[str]:
        """text wrapped after a painted label (error:, warning:): continuation lines are
        indented, so only the first line starts with the label."""
        first, *rest = self.wrap(f"{label} {text}", 0)
        return [self.paint(label, *styles) + first[len(label) :], *rest]

    def pieces(self, pieces: list[tuple[str, tuple[str, ...]]], indent: int) -> list[str]:
        """Pieces of one line (text, styles), moved whole to the next line when they do not
        fit: a heading's name, logical ID and line number are never split."""
        lines: list[str] = []
        plain, painted = " " * indent, " " * indent
        for text, styles in pieces:
            if plain.strip() and len(plain) + 1 + len(text) > self.width:
                lines.append(painted)
                plain, painted = " " * (indent + 2), " " * (indent + 2)
            separator = " " if plain.strip() else ""
            plain += separator + text
            painted += separator + self.paint(text, *styles)
        return [*lines, painted]


def _finding(finding: Finding, layout: _Layout, *, detailed: bool = True) -> list[str]:
    """One finding with its own fix: the code names this table, in the app's language; past
    DETAILED_FINDINGS, its heading line only (a terminal holds no more)."""
    rule, table = finding.rule, finding.table
    style = _SEVERITY_STYLE[finding.severity]
    head = [(f"{SYMBOL[finding.severity]} {rule.id}", (style, "bold")), (rule.slug, ())]
    head.append((shown(table.resource_name), ()))
    if finding.replica_region:  # a piece of its own: it moves to the next line, not the name
        head.append((f"(replica {shown(finding.replica_region)})", ()))
    if table.construct_path and table.logical_id:
        head.append((f"[{shown(table.logical_id)}]", ("dim",)))
    if line := finding.line or table.line:
        head.append((f"line {line}", ("dim",)))
    if not detailed:
        return layout.pieces(head, 2)
    lines = [*layout.pieces(head, 2), *layout.wrap(finding.message, 4)]
    fix = of_finding(finding)
    lines += layout.wrap(f"fix: {fix.summary}", 4, "dim")
    for label, _, code in snippets(fix):
        lines.append(layout.paint(f"      {label}:", "dim"))
        lines += [out for line in code.splitlines() for out in layout.code_line(line, 8)]
    return lines


def _suppressed(finding: Finding, layout: _Layout) -> list[str]:
    reason = finding.suppression_reason or "no reason given"
    text = f"○ suppressed {finding.rule.id} {subject(finding.table, finding.rule)}: {reason}"
    return layout.wrap(text, 2, "dim")


def render_text(report: Report, *, color: bool, tool_version: str, width: int = DEFAULT_WIDTH) -> str:
    layout = _Layout(color, width)
    detailed = 0
    lines = layout.pieces([(f"tablesafe {tool_version}", ("bold",)), (f" checked {scope(report)}", ())], 0)
    for error in report.errors:  # configuration first: a typo there explains what follows
        if error.kind == CONFIG_ERROR:
            lines += layout.labelled("configuration error:", str(error), ("red", "bold"))
    for stack, findings in group_by_stack(report.findings, lambda f: f.table).items():
        files = [
            relative_path(file) for file in dict.fromkeys(f.table.file for f in findings if f.table.file)
        ]
        heading = [(shown(stack), ("bold",))]
        if files != [stack]:
            heading += [(shown(file) + ("," if file != files[-1] else ""), ("dim",)) for file in files]
        lines += ["", *layout.pieces(heading, 0)]
        for finding in findings:
            if not finding.suppressed:
                detailed += 1
                lines += _finding(finding, layout, detailed=detailed <= DETAILED_FINDINGS)
        for finding in findings:
            if finding.suppressed:
                lines += _suppressed(finding, layout)
    trailer = [
        line
        for error in report.errors
        if error.kind != CONFIG_ERROR
        for line in layout.labelled("error:", str(error), ("red", "bold"))
    ]
    for notice in report.notices:
        trailer += layout.labelled(f"{notice.level.value}:", notice.message, (_SEVERITY_STYLE[notice.level],))
    if detailed > DETAILED_FINDINGS:
        trailer += layout.labelled(
            "note:",
            f"the first {DETAILED_FINDINGS} findings are shown with their message and fix, the "
            f"other {detailed - DETAILED_FINDINGS} by their heading; --format json, sarif or markdown "
            "carries every finding's message and fix",
            ("cyan",),
        )
    if trailer:
        lines += ["", *trailer]
    outcome = ("red", "bold") if failed(report) else ("bold",)
    lines += ["", *layout.wrap(summary_line(report), 0, *outcome)]
    return "\n".join(lines) + "\n"
