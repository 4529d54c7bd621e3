"""`lint --fix` turns each `# tablesafe: ignore[...]` comment into suppress() calls.

An ignore comment silences lint alone: it never reaches the template, so the validator in
`cdk synth`, `tablesafe check` and checkov still fail on the table. `suppress(table, rule,
reason=..., expires=...)` (tablesafe.cdk_aspects, @tablesafe/cdk) writes the table's
CloudFormation Metadata, which every gate reads, and lint reads the call too. So --fix
writes one call per rule of the comment, with its reason and date, on the lines after
the table's statement, imports the helper when the file does not, and removes the
comment. It does so only where the table is assigned to a name (`orders = ...`,
`self.orders = ...`, `this.orders = ...`): suppress() needs the construct. A comment it
cannot move stays, with a line that says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePath

from tablesafe.fix.splice import Change, splice
from tablesafe.source import PYTHON_SUFFIXES, read_source
from tablesafe.source.calls import ConstructCall, SourceFile
from tablesafe.source.describe import attached, comment_suppressions, ignore_comment
from tablesafe.source.lines import Lines, python_byte_lines, typescript_lines

PYTHON_IMPORT = "from tablesafe.cdk_aspects import suppress"
TYPESCRIPT_IMPORT = "import { suppress } from '@tablesafe/cdk';"


@dataclass(frozen=True, slots=True)
class MovedComment:
    """One ignore comment written as suppress() calls, one per rule."""

    rules: frozenset[str]


@dataclass(frozen=True, slots=True)
class Moved:
    """The text with the ignore comments moved, those moved, and those left (with why)."""

    text: str
    moved: tuple[MovedComment, ...]
    left: tuple[str, ...]


def _literal(value: str) -> str:
    """A string literal that Python and TypeScript both read back exactly."""
    return json.dumps(value, ensure_ascii=False)


def _call(
    callee: str, variable: str, arguments: list[str], indent: str, newline: str, *, python: bool, width: int
) -> str:
    """One suppress() statement at indent, on one line while it fits width, else one
    argument per line (as ruff format and prettier write it)."""
    end = "" if python else ";"
    line = f"{indent}{callee}({', '.join([variable, *arguments])}){end}"
    if len(line) <= width:
        return line + newline
    inner = indent + ("    " if python else "  ")
    lines = [
        f"{indent}{callee}(",
        *(f"{inner}{argument}," for argument in [variable, *arguments]),
        f"{indent}){end}",
    ]
    return newline.join(lines) + newline


def _arguments(rule: str, reason: str, expires: str | None, *, python: bool) -> list[str]:
    """The rule, reason and date of one suppress() call (keywords in Python, as its helper
    requires)."""
    if python:
        return [
            _literal(rule),
            f"reason={_literal(reason)}",
            *([f"expires={_literal(expires)}"] if expires else []),
        ]
    return [_literal(rule), _literal(reason), *([_literal(expires)] if expires else [])]


def move_ignore_comments(path: str, text: str, width: int) -> Moved:
    """text with every ignore comment attached to an assigned table's call rewritten as
    suppress() calls (see the module's docstring)."""
    python = PurePath(path).suffix in PYTHON_SUFFIXES
    source = read_source(PurePath(path), text)
    data = text.encode("utf-8")
    lines = (python_byte_lines if python else typescript_lines)(data)
    changes: list[Change] = []
    moved: list[MovedComment] = []
    left: list[str] = []
    callee = source.suppress_callee or "suppress"
    for comment in source.comments:
        if (match := ignore_comment(comment)) is None:
            continue
        call = next((call for call in source.calls if attached(comment, call)), None)
        if call is None:
            continue  # it suppresses nothing: lint's notice says so
        suppressions, problems = comment_suppressions([comment], call)
        why = _why_not(call, problems, [s.problem for s in suppressions if s.problem])
        if why:
            left.append(f"line {comment.line}: `tablesafe: ignore[{match['ids'].strip()}]` stays: {why}")
            continue
        indent, newline = _indent(lines, call.line), _newline(lines, call.end_line)
        assert call.variable is not None
        calls = "".join(
            _call(
                callee,
                call.variable,
                _arguments(s.rule_id, s.reason, s.expires.isoformat() if s.expires else None, python=python),
                indent,
                newline,
                python=python,
                width=width,
            )
            for s in suppressions
        )
        changes.append(_after_line(lines, call.end_line, calls.encode(), newline.encode()))
        changes.append(_removal(lines, comment.line, comment.span, comment.alone))
        moved.append(MovedComment(frozenset(s.rule_id for s in suppressions)))
    if not moved:
        return Moved(text, (), tuple(left))
    if source.suppress_callee is None:
        changes.append(_import(lines, source, python))
    return Moved(splice(data, changes).decode("utf-8"), tuple(moved), tuple(left))


def _why_not(call: ConstructCall, problems: list[str], invalid: list[str | None]) -> str | None:
    if problems:
        return problems[0]
    if invalid:
        return f"it cannot be a suppression ({invalid[0]})"
    if call.variable is None:
        name = call.construct_id or "the table"
        return f"{name} is not assigned to a name, which suppress() needs (`orders = ...`)"
    return None


def _indent(lines: Lines[bytes], line: int) -> str:
    content = lines.content(line)
    return content[: len(content) - len(content.lstrip(b" \t"))].decode()


def _newline(lines: Lines[bytes], line: int) -> str:
    ending = lines.ending(line) or (lines.ending(line - 1) if line > 1 else b"") or b"\n"
    return ending.decode()


def _after_line(lines: Lines[bytes], line: int, inserted: bytes, newline: bytes) -> Change:
    """An insertion right after a line (its terminator included)."""
    if line < len(lines):
        start = lines.start(line + 1)
        return start, start, inserted
    end = len(lines.text)  # the last line has no terminator: end it first
    return end, end, newline + inserted.removesuffix(newline)


def _removal(lines: Lines[bytes], line: int, span: tuple[int, int], alone: bool) -> Change:
    """The comment out: its whole line when it stands alone, else it and the spaces before."""
    if alone:
        end = lines.start(line + 1) if line < len(lines) else lines.end(line)
        return lines.start(line), end, b""
    start = span[0]
    while start > lines.start(line) and lines.text[start - 1 : start] in (b" ", b"\t"):
        start -= 1
    return start, span[1], b""


def _import(lines: Lines[bytes], source: SourceFile, python: bool) -> Change:
    """The helper's import after the module's last import."""
    statement = PYTHON_IMPORT if python else TYPESCRIPT_IMPORT
    line = max(source.imports_end, 0)
    newline = _newline(lines, max(line, 1)).encode()
    if line == 0:
        return 0, 0, statement.encode() + newline
    return _after_line(lines, line, statement.encode() + newline, newline)
