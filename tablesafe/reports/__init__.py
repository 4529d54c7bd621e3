"""Every output format renders the same Report, so all commands report alike.

This package is on the fast path: each format's module is imported only when that format
is rendered, and only the JUnit renderer needs a third-party package (junitparser).
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from tablesafe.model import Finding, Report
from tablesafe.remediation import of_finding

FORMATS = ("text", "json", "sarif", "junit", "markdown")

__all__ = ["FORMATS", "finding_dict", "render", "render_json", "use_color"]


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding in the JSON contract's shape."""
    table = finding.table
    remediation = of_finding(finding)
    return {
        "rule_id": finding.rule.id,
        "rule": finding.rule.slug,
        "severity": finding.severity.value,
        "message": finding.message,
        "source": table.source.value,
        "stack": table.stack,
        "logical_id": table.logical_id,
        "construct_path": table.construct_path,
        "resource_type": table.resource_type,
        "replica_region": finding.replica_region,
        "file": table.file,
        "line": finding.line or table.line,
        "table_name": table.table_name,
        "table_arn": table.table_arn,
        "remediation": remediation.summary,
        "remediation_code": remediation.code(),
        "suppressed": finding.suppressed,
        "suppression_reason": finding.suppression_reason,
    }


def _json_list(items: list[object]) -> str:
    encode = json.JSONEncoder().encode
    return "[\n    " + ",\n    ".join(encode(item) for item in items) + "\n  ]" if items else "[]"


def render_json(report: Report, *, tool_version: str) -> str:
    """The JSON contract of SPEC.md that every machine consumer reads.

    One finding per line: json's C encoder only runs without indent, and is several times
    faster than the indented pure-Python one on thousands of findings; a line per finding
    still reads and diffs well.
    """
    sections = {
        "tool": json.dumps("tablesafe"),
        "version": json.dumps(tool_version),
        "findings": _json_list([finding_dict(finding) for finding in report.findings]),
        "summary": json.dumps(report.summary()),
        "errors": _json_list(
            [{"path": error.path, "problem": error.problem, "kind": error.kind} for error in report.errors]
        ),
        "notices": _json_list(
            [{"level": notice.level.value, "message": notice.message} for notice in report.notices]
        ),
    }
    return "{\n" + ",\n".join(f'  "{key}": {value}' for key, value in sections.items()) + "\n}\n"


def render(
    report: Report, fmt: str, *, color: bool = False, tool_version: str, width: int | None = None
) -> str:
    """The report in format fmt (one of FORMATS), ending with a newline; colour and width
    (default: the terminal's, see text.terminal_width) are text-only."""
    if fmt == "text":
        from .text import render_text, terminal_width

        return render_text(report, color=color, tool_version=tool_version, width=width or terminal_width())
    if fmt == "json":
        return render_json(report, tool_version=tool_version)
    if fmt == "sarif":
        from .sarif import render_sarif

        return render_sarif(report, tool_version=tool_version)
    if fmt == "junit":
        from .junit import render_junit

        return render_junit(report)
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report, tool_version=tool_version)
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


def use_color(stream: TextIO) -> bool:
    """Colour for a terminal unless NO_COLOR is set; FORCE_COLOR wins (e.g. CI log viewers)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")
