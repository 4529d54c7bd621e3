"""`tablesafe lint --fix` and `--diff`: rewrite the literal props behind lint's findings.

The findings come from `tablesafe.lint.lint_files`, so a fix is applied exactly where lint
reports a problem, honouring suppressions, exemptions and disabled rules. For each
finding, tablesafe.fix.plan decides what to write from the literal props (the same for
Python and TypeScript), and tablesafe.fix.python (libcst) or tablesafe.fix.typescript
(tree-sitter byte ranges) writes it. libcst is imported only when a Python file has a fix.
"""

from __future__ import annotations

import codecs
import difflib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tablesafe.config import Config
from tablesafe.fix.comments import MovedComment, move_ignore_comments
from tablesafe.fix.plan import FIXABLE, Edit, LiteralFix, Target, plan_edits, plan_overrides, render_literal
from tablesafe.fix.splice import splice
from tablesafe.fix.style import style_for
from tablesafe.loader import FileVersion
from tablesafe.model import InputError, Report
from tablesafe.source import PYTHON_SUFFIXES, parse_source
from tablesafe.source.calls import SUPPRESSION_MARK, ConstructCall


def _lines(text: str) -> list[str]:
    """The lines as git and patch see them: split after each newline only (a carriage
    return, a form feed or U+2028 inside a line stays there)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def git_quoted(name: str) -> str:
    """name as git writes it in a diff header: as it is when plain, else in double quotes
    with C escapes (\\n, \\t, \\", \\\\) and octal bytes for control characters and
    non-ASCII (git's default core.quotePath), which git apply and GNU patch read back."""
    data = name.encode("utf-8", "surrogateescape")
    if not any(byte < 0x20 or byte >= 0x7F or byte in (34, 92) for byte in data):
        return name
    quoted = "".join(
        _C_ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}") for byte in data
    )
    return f'"{quoted}"'


@dataclass(frozen=True, slots=True)
class FileFix:
    """One file's text before and after its fixes."""

    path: str
    before: str
    after: str
    edits: tuple[Edit | LiteralFix | MovedComment, ...]
    version: FileVersion
    """The file as lint read it: written over only while it is still this version."""

    def summary(self) -> str:
        """`path: 3 fixes (TS002, TS003, TS004)`, for stderr."""
        rules = ", ".join(sorted({rule for edit in self.edits for rule in edit.rules}))
        count = len(self.edits)
        return f"{self.path}: {count} fix{'es' if count != 1 else ''} ({rules})"

    def diff(self) -> str:
        """A unified diff that `git apply` and `patch -p1` read back exactly, whatever the
        file's name, even for a last line without a newline: git's headers, the name quoted
        as git quotes it (tablesafe.fix.git_quoted), so a name holding a newline stays one
        name in one header."""
        old, new = git_quoted(f"a/{self.path}"), git_quoted(f"b/{self.path}")
        # git ends a --- / +++ name holding a space with a tab, so that patch reads it whole
        tab = "\t" if " " in self.path and not old.startswith('"') else ""
        lines = difflib.unified_diff(
            _lines(self.before), _lines(self.after), fromfile=old + tab, tofile=new + tab, lineterm="\n"
        )
        body = "".join(
            line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
        )
        return f"diff --git {old} {new}\n{body}"

    def write(self, root: Path) -> Path:
        """Replace the file atomically, never over a change made since lint read it, nor
        through a symlink out of root; the real path written (tablesafe.writes)."""
        from tablesafe.writes import write_file

        bom = codecs.BOM_UTF8 if self.version.data.startswith(codecs.BOM_UTF8) else b""
        return write_file(self.path, bom + self.after.encode("utf-8"), expected=self.version, root=root)


def _targets(report: Report) -> dict[str, dict[tuple[int, str | None], set[Target]]]:
    """Per file, per construct call (line, construct id): the findings a fix may resolve."""
    found: dict[str, dict[tuple[int, str | None], set[Target]]] = {}
    for finding in report.findings:
        table = finding.table
        if finding.suppressed or finding.rule.id not in FIXABLE or not table.file or table.line is None:
            continue
        call = (table.line, table.construct_path)
        found.setdefault(table.file, {}).setdefault(call, set()).add((finding.rule.id, table.replica_region))
    return found


class _Unfixable(Exception):
    """A file lint judged that --fix cannot read or rewrite, with the reason."""


def _fix_file(
    path: str, calls: dict[tuple[int, str | None], set[Target]], version: FileVersion
) -> tuple[FileFix | None, list[str]]:
    """The file with its fixes applied, from the bytes lint judged (None when nothing in it
    can be fixed), and what --fix leaves because a later statement wins."""
    text = version.data.decode("utf-8-sig")
    python = Path(path).suffix in PYTHON_SUFFIXES
    planned: list[tuple[ConstructCall, list[Edit]]] = []
    literals: list[LiteralFix] = []
    notices: list[str] = []
    for call in parse_source(Path(path), text):
        if targets := calls.get((call.line, call.construct_id)):
            found, said = plan_overrides(call, targets)
            literals += found
            notices += said
            if edits := plan_edits(call, targets):
                planned.append((call, edits))
    after = _with_literals(text, literals, python=python) if literals else text
    applied: list[Edit | LiteralFix | MovedComment] = [*literals]
    if planned:
        after, edited = _render(path, after, planned, python=python)
        applied += edited
    if SUPPRESSION_MARK in after:
        moved = move_ignore_comments(path, after, style_for(path, python=python).line_length)
        after = moved.text
        applied += moved.moved
        notices += moved.left
    fix = FileFix(path, text, after, tuple(applied), version) if after != text else None
    return fix, notices


def _with_literals(text: str, literals: list[LiteralFix], *, python: bool) -> str:
    """text with each literal rewritten in place, its quotes kept (same lines, so the calls
    planned on text are found again by line)."""
    source = text.encode("utf-8")
    changes = [(*fix.span, render_literal(source[slice(*fix.span)], fix, python=python)) for fix in literals]
    return splice(source, changes).decode("utf-8")


def _render(
    path: str, text: str, planned: list[tuple[ConstructCall, list[Edit]]], *, python: bool
) -> tuple[str, list[Edit]]:
    """The props edits written in the file's language, in the project's style."""
    style = style_for(path, python=python)
    if python:
        import libcst

        from tablesafe.fix.python import render_python

        try:
            return render_python(text, planned, style.line_length)
        except libcst.ParserSyntaxError as error:
            raise _Unfixable(f"line {error.raw_line}: libcst cannot parse it to rewrite it") from None
    from tablesafe.fix.typescript import render_typescript

    return render_typescript(text, planned, style, tsx=path.endswith(".tsx"))


class Fixes(NamedTuple):
    """What --fix would do for lint's findings, nothing written yet."""

    fixes: list[FileFix]
    unfixable: list[InputError]
    """Files that cannot be rewritten."""
    report: Report
    """lint's report, before the fixes."""
    left: list[str]
    """What --fix leaves because a later statement wins over the props (file: line: ...)."""


def fix_files(paths: Sequence[str], config: Config, diff_base: str | None = None) -> Fixes:
    """The fixes for lint's findings on paths (nothing written)."""
    from tablesafe.lint import lint_sources

    report, versions = lint_sources(paths, config, diff_base)
    planned = Fixes([], [], report, [])
    targets = _targets(report)
    commented = [path for path, version in versions.items() if SUPPRESSION_MARK.encode() in version.data]
    for path in dict.fromkeys([*targets, *commented]):
        try:
            fix, left = _fix_file(path, targets.get(path, {}), versions[path])
        except _Unfixable as problem:
            planned.unfixable.append(InputError(path, str(problem)))
            continue
        planned.fixes.extend([fix] if fix else [])
        planned.left.extend(f"{path}: {notice}" for notice in left)
    return planned


def write_root(path: str, folders: Sequence[str]) -> Path:
    """What a file --fix writes must stay inside: the folder given that holds it, else its
    git work tree, else its own folder (a symlink is written only to a target inside)."""
    from tablesafe.source.git import toplevel

    absolute = os.path.abspath(path)  # the link's own place, not its target's
    for folder in folders:
        if absolute.startswith(os.path.join(os.path.abspath(folder), "")):
            return Path(folder)
    parent = Path(path).parent
    return toplevel(parent) or parent


def apply_fixes(
    paths: Sequence[str],
    config: Config,
    diff_base: str | None,
    problems: list[InputError],
    *,
    write: bool,
    folders: Sequence[str] = (),
) -> int | None:
    """--fix (write): apply the fixes, say which, add the files that could not be fixed or
    written to problems (the input errors found so far), and return None so that lint
    reports what remains. --diff: print the patch, write nothing, and return the exit code:
    1 when the patch is not empty, 2 when an input could not be read or fixed (or problems
    holds one), else 0. folders: the folders given, which bound the files written."""
    from tablesafe.output import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, say
    from tablesafe.writes import WriteRefused

    fixes, unfixable, report, left = fix_files(paths, config, diff_base)
    problems.extend(unfixable)
    for notice in left:
        say(notice)
    for fix in fixes:
        if not write:
            sys.stdout.write(fix.diff())
            say(f"would fix {fix.summary()}")
            continue
        try:
            written = fix.write(write_root(fix.path, folders))
        except WriteRefused as refused:
            problems.append(InputError(fix.path, str(refused)))
            continue
        except OSError as error:
            reason = error.strerror or str(error)
            problems.append(InputError(fix.path, f"cannot be written ({reason}): left as it was"))
            continue
        through = "" if written == Path(fix.path) else f" (through the link {fix.path} to {written})"
        say(f"fixed {fix.summary()}{through}")
    if write:
        return None
    for error in [*problems, *report.errors]:
        say(f"error: {error}")
    return EXIT_INPUT if problems or report.errors else EXIT_FINDINGS if fixes else EXIT_OK
