"""`tablesafe lint`: CDK source files for pre-commit, without synth.

The files are read as they are on disk. Under pre-commit that is the staged version
(pre-commit stashes unstaged changes before it runs hooks); by hand, it is what the editor
shows. Each file is compared with its version at --diff-base (default HEAD) for the
replacement rules, pairing tables by construct id within the file.

Only literal props are judged: a rule whose input depends on a variable, a call or a
spread is not run on that table (a notice lists them), because `tablesafe check` judges
the synthesized value and a guess here would block commits for nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tablesafe.config import Config
from tablesafe.model import (
    Decider,
    Finding,
    InputError,
    LoadResult,
    Notice,
    Remediation,
    Report,
    Severity,
    TableDescription,
    Unknown,
)
from tablesafe.source.calls import ConstructCall, SourceFile

if TYPE_CHECKING:
    from tablesafe.loader import FileVersion

RULE_INPUTS: dict[str, tuple[str, ...]] = {
    "TS001": ("pitr_enabled",),
    "TS003": ("deletion_protection",),
    "TS004": ("deletion_policy", "update_replace_policy"),
    "TS007": ("pitr_enabled", "recovery_period_days"),
}
"""The description fields each table rule reads; a rule is skipped when one is Unknown.
TS002 reads which props are written, which a source file always shows."""


def register_lint_command(
    commands: Any, add_report_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add `lint` to the `tablesafe` parser."""
    lint = commands.add_parser(
        "lint",
        help="lint Python/TypeScript CDK source files without synth (for pre-commit)",
        description="Check the DynamoDB tables defined in CDK source files (.py, .ts, .tsx, .mts, "
        ".cts) from their literal props, and catch a Table swapped for a TableV2 against a git "
        "revision. Props that are not literals are left to `tablesafe check` on the synth output.",
    )
    lint.add_argument(
        "files",
        nargs="+",
        metavar="PATH",
        help="CDK source file, or a folder to walk for them (skipping node_modules, cdk.out, virtual "
        "environments and what .gitignore ignores)",
    )
    lint.add_argument(
        "--diff-base",
        metavar="REV",
        help="git revision to compare each file with, for TS005/TS006 (default: HEAD when in a "
        "git repository; no comparison otherwise)",
    )
    lint.add_argument(
        "--config", metavar="FILE", help="configuration file (default: nearest .tablesafe.yaml)"
    )
    fixing = lint.add_mutually_exclusive_group()
    fixing.add_argument(
        "--fix",
        action="store_true",
        help="rewrite literal props to fix TS001-TS004 (comments and layout kept), then report what "
        "remains (exit 1 while findings remain)",
    )
    fixing.add_argument(
        "--diff", action="store_true", help="print the unified diff --fix would apply; write nothing"
    )
    add_report_options(lint)
    lint.set_defaults(handler=_lint)


def _lint(args: argparse.Namespace) -> int:
    from tablesafe.config import load_config
    from tablesafe.output import emit_report
    from tablesafe.source.files import expand_folders

    config, config_errors = load_config(args.config, Path.cwd())
    files, folder_problems = expand_folders(args.files)
    problems = [*config_errors, *(InputError(path, problem) for path, problem in folder_problems)]
    if args.fix or args.diff:
        from tablesafe.fix import apply_fixes

        folders = [path for path in args.files if Path(path).is_dir()]
        code = apply_fixes(files, config, args.diff_base, problems, write=args.fix, folders=folders)
        if code is not None:
            return code
    report = lint_files(files, config, args.diff_base)
    report.errors[:0] = problems
    return emit_report(report, args)


class _Problem(Exception):
    """A source file that cannot be linted, with a one-line reason."""


def _read(path: Path) -> tuple[str, FileVersion]:
    """A source file's text, and the version read (--fix works from these bytes, never a
    second read): a regular file under the input size limit (so a FIFO or a symlink to
    /dev/zero is one error line, never a hang)."""
    from tablesafe.loader import InputProblem, read_version
    from tablesafe.source import PYTHON_SUFFIXES
    from tablesafe.source.lines import python_byte_lines, typescript_lines

    try:
        version = read_version(path)
    except InputProblem as problem:
        raise _Problem(str(problem)) from None
    try:
        return version.data.decode("utf-8-sig"), version
    except UnicodeDecodeError as error:
        lines = (python_byte_lines if path.suffix in PYTHON_SUFFIXES else typescript_lines)(version.data)
        raise _Problem(f"line {lines.line_of(error.start)}: not UTF-8 text (byte {error.start})") from None


class _FileRead(NamedTuple):
    """What lint reads from one file."""

    tables: list[list[TableDescription]]
    """The descriptions of each construct call, call by call."""
    problems: list[str]
    """Suppression comments and calls that cannot be used."""
    notices: list[Notice]
    libraries: tuple[str, ...]
    """The construct libraries it imports, which may create tables lint does not see."""


def _describe(path: str, text: str) -> _FileRead:
    """The tables of one file, with the suppressions written on them; raises
    SourceSyntaxError."""
    from tablesafe.source import read_source
    from tablesafe.source.describe import code_suppressions, comment_suppressions, describe_call

    source = read_source(Path(path), text)
    tables: list[list[TableDescription]] = []
    problems: list[str] = []
    for call in source.calls:
        in_comments, comment_problems = comment_suppressions(source.comments, call)
        in_code, code_problems = code_suppressions(call)
        problems.extend(comment_problems + code_problems)
        described = describe_call(call, path, in_comments + in_code)
        tables.append(_with_safe_statements(path, text, call, described) if call.overrides else described)
    return _FileRead(tables, problems, _comment_notices(path, source), source.libraries)


def _with_safe_statements(
    path: str, text: str, call: ConstructCall, tables: list[TableDescription]
) -> list[TableDescription]:
    """The tables with each deciding statement's line written with the safe value, for the
    remediation of the findings those statements decide."""
    from tablesafe.fix.plan import fixed_statement
    from tablesafe.source import PYTHON_SUFFIXES
    from tablesafe.source.describe import decisive_overrides
    from tablesafe.source.lines import python_byte_lines, typescript_lines

    python = Path(path).suffix in PYTHON_SUFFIXES
    data = text.encode("utf-8")
    lines = (python_byte_lines if python else typescript_lines)(data)
    safe = {
        field: Decider(o.line, o.written_as, fixed_statement(o, field, data, lines, python=python))
        for field, o in decisive_overrides(call).items()
    }
    return [replace(table, set_at=safe) for table in tables]


def _comment_notices(path: str, source: SourceFile) -> list[Notice]:
    """An ignore comment silences lint alone (it never reaches the template, so `cdk synth`
    and `tablesafe check` still fail): a warning naming the call that silences every gate;
    a comment on no table's call suppresses nothing: a notice naming its line."""
    from tablesafe.source.describe import attached, ignore_comment

    notices = []
    for comment in source.comments:
        if (match := ignore_comment(comment)) is None:
            continue
        written = f"{path}: line {comment.line}: `tablesafe: ignore[{match['ids'].strip()}]`"
        call = next((call for call in source.calls if attached(comment, call)), None)
        if call is None:
            notices.append(
                Notice(
                    Severity.INFO,
                    f"{written} suppresses nothing: it is neither on a line of a table's call nor "
                    "alone on the line above one",
                )
            )
            continue
        notices.append(
            Notice(
                Severity.WARNING,
                f"{written} silences lint only: the comment never reaches the template, so the "
                f"validator in `cdk synth` and `tablesafe check` still report "
                f"{call.construct_id or 'the table'}; suppress() silences every gate "
                "(`tablesafe lint --fix` turns the comment into that call)",
            )
        )
    return notices


def _library_notice(path: str, libraries: Sequence[str]) -> Notice:
    """Tables that another construct library creates exist only once the app runs."""
    return Notice(
        Severity.INFO,
        f"{path}: imports {', '.join(dict.fromkeys(libraries))}, whose constructs can create tables "
        "that lint does not see: `tablesafe check` judges them on the synthesized template",
    )


def _unknown_inputs(table: TableDescription, rule_id: str) -> list[Unknown]:
    values = (getattr(table, name) for name in RULE_INPUTS.get(rule_id, ()))
    return [value for value in values if isinstance(value, Unknown)]


def _load(
    paths: Sequence[str], diff_base: str | None
) -> tuple[LoadResult, list[list[TableDescription]], dict[str, FileVersion]]:
    """Every file's tables, grouped per construct call, and their changes since diff_base;
    and the version of each file read."""
    from tablesafe.changes import pair_tables
    from tablesafe.source import SUFFIXES
    from tablesafe.source.calls import SourceSyntaxError
    from tablesafe.source.git import GitProblem, previous_versions

    loaded = LoadResult()
    groups: list[list[TableDescription]] = []
    texts: dict[str, str] = {}
    versions: dict[str, FileVersion] = {}
    for path in paths:
        if Path(path).suffix not in SUFFIXES:
            loaded.errors.append(
                InputError(path, f"not a CDK source file (lint reads {', '.join(sorted(SUFFIXES))})")
            )
            continue
        try:
            texts[path], versions[path] = _read(Path(path))
        except _Problem as problem:
            loaded.errors.append(InputError(path, str(problem)))
    try:
        previous = previous_versions(texts, diff_base) if texts else {}
    except GitProblem as problem:
        loaded.errors.append(InputError("git", str(problem)))
        previous = {}
    for path, text in texts.items():
        try:
            tables, problems, notices, libraries = _describe(path, text)
        except SourceSyntaxError as error:
            loaded.errors.append(InputError(path, str(error)))
            continue
        loaded.errors.extend(InputError(path, problem) for problem in problems)
        loaded.notices.extend(notices)
        if libraries:
            loaded.notices.append(_library_notice(path, libraries))
        groups.extend(tables)
        new = [table for group in tables for table in group]
        loaded.tables.extend(new)
        old_text = previous.get(path)
        if not old_text or not new:
            continue  # a new or unchanged file, or one without tables: nothing to compare
        try:
            old = [table for group in _describe(path, old_text).tables for table in group]
        except SourceSyntaxError:
            continue  # a broken old version has nothing to compare with
        changes, _ = pair_tables(old, new, baseline=f"{diff_base or 'HEAD'}:{path}")
        # The construct id is the only identity a source file shows: pairing by table name
        # or key schema would call a rename a type swap, which only the template can tell.
        loaded.changes.extend(change for change in changes if change.matched_by == "construct path")
    return loaded, groups, versions


def _at_deciding_line(findings: list[Finding], rule_id: str) -> list[Finding]:
    """A finding whose value a later statement decides (an override wins over the props)
    points at that statement, and says so."""
    from tablesafe.fix.plan import is_safe

    for finding in findings:
        set_at = finding.table.set_at or {}
        deciding = [
            set_at[field]
            for field in RULE_INPUTS.get(rule_id, ())
            if field in set_at and not is_safe(field, getattr(finding.table, field))
        ]
        if deciding:
            statements = sorted(set(deciding))
            finding.line = statements[-1].line
            said = " and ".join(f"{d.written_as} on line {d.line}" for d in statements)
            wins = "wins" if len(statements) == 1 else "win"
            finding.message += f" (set by {said}, which {wins} over the table's props)"
            finding.remedy = _statement_remedy(finding, statements, wins)
    return findings


def _statement_remedy(finding: Finding, statements: list[Decider], wins: str) -> Remediation:
    """Change the statements that win over the props, not the props: each with its safe
    value, or removed when it deletes the value (a deletion override)."""
    said = " and ".join(f"{d.written_as} on line {d.line}" for d in statements)
    safe = [d for d in statements if d.safe]
    summary = f"The {said} {wins} over the props of {finding.table.display_name}: "
    if len(safe) == len(statements):
        summary += "write the safe value there (`tablesafe lint --fix` does)."
    elif safe:
        summary += "write the safe value there, and remove a statement that deletes the value."
    else:
        summary += "remove it (a deleted value means Delete, or off)."
    comment = "#" if finding.table.language == "python" else "//"
    code = "\n".join(f"{comment} line {d.line}\n{d.safe}" for d in safe)
    python = code if finding.table.language == "python" else ""
    return Remediation(summary, python, "" if python else code, "")


def _not_judged_notices(skipped: dict[str, dict[str, dict[str, list[str]]]]) -> list[Notice]:
    """One notice per file: which rules were left to `tablesafe check`, on which table, why."""
    notices = []
    for path, tables in skipped.items():
        parts = [
            f"{table}: " + "; ".join(f"{', '.join(ids)} ({reason})" for reason, ids in reasons.items())
            for table, reasons in tables.items()
        ]
        notices.append(
            Notice(
                Severity.INFO,
                f"{path}: not judged, the props are not literals (`tablesafe check` judges the "
                f"synthesized template): {' | '.join(parts)}",
            )
        )
    return notices


def lint_files(
    paths: Sequence[str], config: Config, diff_base: str | None = None, today: dt.date | None = None
) -> Report:
    """The report of `tablesafe lint` over paths."""
    return lint_sources(paths, config, diff_base, today)[0]


def lint_sources(
    paths: Sequence[str], config: Config, diff_base: str | None = None, today: dt.date | None = None
) -> tuple[Report, dict[str, FileVersion]]:
    """The report of `tablesafe lint` over paths, and the version of each file it judged
    (what `lint --fix` rewrites)."""
    from tablesafe.engine import enabled_rules, judge

    today = today or dt.date.today()
    loaded, groups, versions = _load(paths, diff_base)
    rules = enabled_rules(config)
    findings = [
        finding
        for change in loaded.changes
        for rule in rules
        if rule.judges_changes
        for finding in judge(change, rule, config, today)
    ]
    skipped: dict[str, dict[str, dict[str, list[str]]]] = {}
    for group in groups:
        for index, table in enumerate(group):
            for rule in rules:
                if rule.judges_changes or (rule.per_resource and index):
                    continue  # a per-resource rule is judged on the first description only
                if unknown := _unknown_inputs(table, rule.id):
                    tables = skipped.setdefault(table.file or "", {})
                    reasons = tables.setdefault(f"{table.display_name} (line {table.line})", {})
                    reasons.setdefault(unknown[0].reason, []).append(rule.id)
                    continue
                findings.extend(_at_deciding_line(judge(table, rule, config, today), rule.id))
    report = Report(
        findings=findings,
        tables=loaded.tables,
        rules=rules,
        errors=loaded.errors,
        notices=[*config.notices(), *loaded.notices, *_not_judged_notices(skipped)],
    )
    return report, versions
