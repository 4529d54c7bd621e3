"""How a command ends: its report written where asked, one line per problem on stderr,
and the exit code. Every command (check, lint, lint --fix, the audit) ends through here,
so they all behave alike; the command line (tablesafe.cli) only parses arguments."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tablesafe import __version__, neutralize
from tablesafe.model import CONFIG_ERROR, Report, Severity

if TYPE_CHECKING:
    from tablesafe.loader import FileVersion

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}


def exit_code(report: Report, fail_on: str) -> int:
    if report.errors:
        return EXIT_INPUT
    threshold = FAIL_ON[fail_on]
    if threshold is not None and any(
        not f.suppressed and f.severity.rank >= threshold.rank for f in report.findings
    ):
        return EXIT_FINDINGS
    return EXIT_OK


def emit_report(
    report: Report, args: argparse.Namespace, decide: Callable[[Report, str], int] | None = None
) -> int:
    """Write the report where asked; input errors always reach stderr as one line each.

    decide turns the report and --fail-on into the exit code (default: exit_code); a report
    that cannot be written is exit 2 whatever it holds."""
    from tablesafe.reports import render, use_color

    to_terminal_text = args.format == "text" and not args.output
    rendered = render(
        report, args.format, color=to_terminal_text and use_color(sys.stdout), tool_version=__version__
    )
    if not to_terminal_text:
        for error in report.errors:
            say(f"{'configuration error' if error.kind == CONFIG_ERROR else 'error'}: {error}")
    if args.output:
        if write_or_say(args.output, rendered.encode("utf-8")) is None:
            return EXIT_INPUT
    else:
        write_stdout(rendered)
    return (decide or exit_code)(report, args.fail_on)


def write_or_say(
    path: str | Path, data: bytes, *, expected: FileVersion | None = None, kept: str = "not written"
) -> Path | None:
    """Write a file of the user's through tablesafe.writes; the real path written, or None
    after one line on stderr saying why not (and that the file is kept as it was)."""
    from tablesafe.writes import WriteRefused, write_file

    try:
        return write_file(path, data, expected=expected)
    except WriteRefused as refused:
        say(f"error: {path}: {refused}")
    except OSError as error:
        say(f"error: {path}: cannot write ({error.strerror or error}): {kept}")
    return None


def write_stdout(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def say(message: object) -> None:
    """One line on stderr after 'tablesafe: '; the message passes through neutralize.text, so
    a file name or a value holding a newline or an escape sequence cannot make it two lines."""
    print(f"tablesafe: {neutralize.text(message)}", file=sys.stderr)
