"""The `tablesafe` command line.

Kept lean on purpose: `check` imports no boto3, aws-cdk-lib, jsii or checkov, so it
answers in a fraction of a second in CI and in pre-commit.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tablesafe import __version__, neutralize
from tablesafe.model import Rule
from tablesafe.output import EXIT_INPUT, EXIT_OK, FAIL_ON, emit_report, say, write_or_say, write_stdout
from tablesafe.remediation import of_rule
from tablesafe.reports import FORMATS
from tablesafe.reports._common import snippets

EXIT_CODES_HEADING = "exit codes:"
EXIT_CODES = f"""{EXIT_CODES_HEADING}
  0    done; no unsuppressed finding at or above --fail-on (default: error);
       drill: the table is proven recreatable
  1    findings at or above --fail-on (lint --fix: findings remain; lint --diff: a diff;
       drill: not recreatable as recorded, the difference named)
  2    usage error, or an input that could not be read or a file that could not be
       written (one line each on stderr; the other inputs are still reported);
       drill: cannot start (no PITR, no bucket, over --max-cost)
  3    audit, runbook: partial, some reads failed (wins over 1); drill: could not finish
  130  interrupted; nothing half-written is left in place (drill: its scratch table deleted)"""
"""The README's exit-code table, for `tablesafe --help`."""
DEFAULT_PATH = "cdk.out"
"""What `tablesafe check` reads without a PATH: the cloud assembly `cdk synth` writes here."""
NO_DEFAULT_PATH = (
    "no PATH given and no cdk.out here: run `cdk synth` first (in the CDK app), or name the "
    "cloud assembly or templates to check"
)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped without breaking inside paths and hyphenated words."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(EXIT_CODES_HEADING):  # a table: its lines as written
            return textwrap.indent(text, indent)
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line, not the whole usage, for a bad argument, and
    suggests the nearest choice for a misspelt command or value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(
            EXIT_INPUT,
            f"tablesafe: error: {neutralize.text(_with_suggestion(message))} (see {self.prog} --help)\n",
        )


def _with_suggestion(message: str) -> str:
    """argparse's 'invalid choice' message, with the closest valid choice when there is one."""
    match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not match:
        return message
    choices = re.findall(r"'([^']*)'", match.group(2))
    close = difflib.get_close_matches(match.group(1), choices, n=1)
    return message + (f"; did you mean '{close[0]}'?" if close else "")


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument(
        "--fail-on",
        choices=tuple(FAIL_ON),
        default="error",
        help="lowest unsuppressed severity that makes the exit code 1 (default: error)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tablesafe",
        description="Keep AWS CDK DynamoDB tables from losing data.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"tablesafe {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser(
        "check",
        help="check a cloud assembly (cdk.out) or CloudFormation templates",
        description="Check cloud assemblies (cdk.out) and CloudFormation templates (JSON or YAML).",
    )
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="cloud assembly (cdk.out) or CDK app directory, template file or folder "
        f"(default: {DEFAULT_PATH})",
    )
    check.add_argument(
        "--config", metavar="FILE", help="configuration file (default: nearest .tablesafe.yaml)"
    )
    check.add_argument(
        "--baseline",
        metavar="PATH|deployed",
        help="compare with a previous cloud assembly or template, or with the deployed stacks "
        "(CloudFormation GetTemplate) to catch table replacements (TS005, TS006)",
    )
    check.add_argument(
        "--lock",
        metavar="FILE",
        help="lockfile to compare with when there is no --baseline (default: nearest tablesafe.lock.json)",
    )
    check.add_argument("-v", "--verbose", action="store_true", help="list every template read (on stderr)")
    _add_report_options(check)
    check.set_defaults(handler=_check)

    lock = commands.add_parser(
        "lock",
        help="write tablesafe.lock.json: the identity of every table, for replacement checks",
        description="Record every table's identity (stack, construct path, logical ID, type, name, "
        "keys, local secondary indexes, import source) so `tablesafe check` and the CDK Aspect "
        "catch a change that would replace it. Changing a locked table needs --reason.",
    )
    lock.add_argument("paths", nargs="+", metavar="PATH", help="cdk.out directory or template file")
    lock.add_argument("--output", metavar="FILE", help="lockfile to write (default: ./tablesafe.lock.json)")
    lock.add_argument(
        "--reason",
        help="why locked tables change (a deliberate migration; at least 10 characters, as for a "
        "suppression); kept in the lock",
    )
    lock.set_defaults(handler=_lock)

    rules = commands.add_parser(
        "rules",
        help="print the rule catalogue: rationale, fixes and the matching controls of other tools",
        description="Print every rule (or the one named) with its rationale, its fixes (CDK Python, CDK "
        "TypeScript, AWS CLI) and the matching controls of Security Hub, AWS Config, checkov, cdk-nag "
        "and cfn-lint.",
    )
    rules.add_argument(
        "rule", nargs="?", metavar="RULE", help="one rule, by id (TS001) or slug (pitr-missing)"
    )
    rules.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    rules.set_defaults(handler=_rules)

    checkov_dir = commands.add_parser(
        "checkov-dir",
        help="print the directory of tablesafe's checkov checks (for --external-checks-dir)",
        description="Print the directory of the checkov external checks (TS001, TS003, TS004, TS007): "
        'checkov -d cdk.out --framework cloudformation --external-checks-dir "$(tablesafe checkov-dir)"',
    )
    checkov_dir.set_defaults(handler=_checkov_dir)

    from tablesafe.lint import register_lint_command
    from tablesafe.scanner.cli import register_commands

    register_lint_command(commands, _add_report_options)
    register_commands(commands, _add_report_options)
    return parser


def _check(args: argparse.Namespace) -> int:
    from tablesafe.config import find_upwards, load_config
    from tablesafe.engine import build_report
    from tablesafe.loader import load_paths
    from tablesafe.lockfile import LOCK_NAME
    from tablesafe.model import InputError, LoadResult

    config, config_errors = load_config(args.config, Path.cwd())
    paths = args.paths or [DEFAULT_PATH]
    if args.paths or Path(DEFAULT_PATH).exists():
        loaded = load_paths(paths)
    else:
        loaded = LoadResult(errors=[InputError(DEFAULT_PATH, NO_DEFAULT_PATH)])
    loaded.errors[:0] = config_errors
    if args.verbose:
        for file in loaded.files:
            say(f"read {file}")
    lock = args.lock or (None if args.baseline else find_upwards(Path.cwd(), LOCK_NAME))
    if (args.baseline or lock) and (loaded.stacks or not loaded.errors):  # nothing read: nothing to compare
        from tablesafe.baseline import compare

        compare(loaded, paths, args.baseline, lock, Path.cwd())
    return emit_report(build_report(loaded, config), args)


def _lock(args: argparse.Namespace) -> int:
    """Write the lockfile; refuse to rewrite a locked table's identity without a reason."""
    from tablesafe.loader import load_paths
    from tablesafe.lockfile import (
        LOCK_NAME,
        LockProblem,
        history_entry,
        lock_document,
        lock_error,
        locked_changes,
        read_lock,
    )
    from tablesafe.reports._common import plural
    from tablesafe.suppressions import reason_problem

    if args.reason is not None and (problem := reason_problem(args.reason)):
        say(f"error: --reason: {problem}")
        return EXIT_INPUT
    loaded = load_paths(args.paths)
    if loaded.errors:
        for error in loaded.errors:
            say(f"error: {error}")
        say("error: the lockfile was not written")
        return EXIT_INPUT
    path = Path(args.output or LOCK_NAME)
    history: list[dict[str, object]] = []
    previous = None
    if path.exists() or path.is_symlink():
        try:
            old_tables, history, previous = read_lock(path)
        except LockProblem as problem:
            say(f"error: {lock_error(path, problem)}")
            return EXIT_INPUT
        changes = locked_changes(old_tables, loaded, str(path))
        if changes and not args.reason:
            for message in changes:
                say(message)
            say(
                f"error: {path}: {plural(len(changes), 'change')} of locked tables (above); for a "
                'deliberate migration, run again with --reason "..." to record it'
            )
            return EXIT_INPUT
        if changes:
            history.append(history_entry(args.reason, changes))
    document = (json.dumps(lock_document(loaded.tables, history, __version__), indent=2) + "\n").encode()
    written = write_or_say(path, document, expected=previous, kept="the lockfile was not changed")
    if written is None:
        return EXIT_INPUT
    tables = len({table.resource_key for table in loaded.tables})
    print(f"tablesafe: locked {tables} tables in {neutralize.text(written)}")
    return EXIT_OK


def _catalogue_entry(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "slug": rule.slug,
        "title": rule.title,
        "severity": rule.severity.value,
        "enabled_by_default": rule.default_enabled,
        "rationale": rule.rationale,
        "remediation": {"summary": of_rule(rule).summary, **of_rule(rule).code()},
        "controls": list(rule.controls),
        "help_url": rule.help_url,
    }


def _rule_text(rule: Rule) -> str:
    """One catalogue entry for people: what, why, how to fix, and the peers' controls."""
    indent = "    "
    opt_in = "" if rule.default_enabled else ", opt-in"
    parts = [f"{rule.id}  {rule.slug}  [{rule.severity.value}{opt_in}]", f"  {rule.title}", ""]
    paragraphs = [rule.rationale, f"fix: {of_rule(rule).summary}"]
    if opt_in:
        switch = f"rules: {{{rule.id}: {{enabled: true}}}}"
        paragraphs.insert(1, f"opt-in: off unless .tablesafe.yaml turns it on: {switch}")
    for paragraph in paragraphs:
        parts += [*textwrap.wrap(paragraph, 96, initial_indent="  ", subsequent_indent="  "), ""]
    parts.pop()
    for label, _, code in snippets(of_rule(rule)):
        parts += [f"  {label}:", textwrap.indent(code, indent)]
    parts += [
        "  controls:",
        *(f"{indent}- {control}" for control in rule.controls),
        f"  docs: {rule.help_url}",
    ]
    return "\n".join(parts)


def _rules(args: argparse.Namespace) -> int:
    from tablesafe.rules import ALL_RULES, find_rule

    rules = list(ALL_RULES)
    if args.rule is not None:
        rule = find_rule(args.rule.strip())
        if rule is None:
            known = ", ".join(f"{r.id} ({r.slug})" for r in rules)
            say(f"error: rules: no rule {args.rule!r}; the rules are {known}")
            return EXIT_INPUT
        rules = [rule]
    if args.format == "json":
        write_stdout(json.dumps([_catalogue_entry(rule) for rule in rules], indent=2))
        return EXIT_OK
    write_stdout("\n\n".join(_rule_text(rule) for rule in rules))
    return EXIT_OK


def _checkov_dir(args: argparse.Namespace) -> int:
    """The installed checks folder; found without importing it (and so without checkov)."""
    from importlib.resources import files

    directory = Path(str(files("tablesafe.rules").joinpath("checkov"))).resolve()
    if not (directory / "tablesafe_checks.py").is_file():
        say(f"error: {directory}: the checkov checks are not installed here")
        return EXIT_INPUT
    write_stdout(str(directory))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): nothing left to say
        return EXIT_OK
    except KeyboardInterrupt:
        say("interrupted: nothing more was read or written")
        return 130


if __name__ == "__main__":
    sys.exit(main())
