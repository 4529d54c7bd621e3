"""Helpers every output format shares, so that the formats agree on names and groups."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from tablesafe.model import CONFIG_ERROR, Finding, Remediation, Report, Rule, Severity, TableDescription
from tablesafe.neutralize import markdown_fence, markdown_text

T = TypeVar("T")

SYMBOL = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "●"}

SNIPPETS = (
    ("CDK Python", "python", "cdk_python"),
    ("CDK TypeScript", "typescript", "cdk_typescript"),
    ("CLI", "bash", "cli"),
)
"""(label, fence language, Remediation attribute) of each fix snippet, in display order."""


def relative_path(path: str) -> str:
    """POSIX path relative to the current directory when under it, so reports are portable."""
    return _relative_to(path, os.getcwd())


@functools.lru_cache(maxsize=1024)
def _relative_to(path: str, cwd: str) -> str:
    """Cached: a report names the same few files once per finding."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(cwd)
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix()


def stack_of(table: TableDescription) -> str:
    """The group a table is reported under: a deployed table's account and region (with its
    stack), else its stack, else its file (plain templates)."""
    arn = (table.table_arn or "").split(":")
    if len(arn) > 4 and arn[0] == "arn":
        return f"account {arn[4]} {arn[3]}" + (f" (stack {table.stack})" if table.stack else "")
    if table.stack:
        return table.stack
    return relative_path(table.file) if table.file else "(no stack)"


def group_by_stack(items: Iterable[T], table_of: Callable[[T], TableDescription]) -> dict[str, list[T]]:
    """Items grouped by stack_of, groups and items in the order they first appear."""
    groups: dict[str, list[T]] = {}
    stacks: dict[int, str] = {}  # findings share their table: each table's group is found once
    for item in items:
        table = table_of(item)
        stack = stacks.get(id(table))
        if stack is None:
            stack = stacks[id(table)] = stack_of(table)
        groups.setdefault(stack, []).append(item)
    return groups


def subject(table: TableDescription, rule: Rule) -> str:
    """The table's display name; a per-resource rule names the resource, not one replica."""
    if rule.per_resource and table.replica_region:
        table = dataclasses.replace(table, replica_region=None)
    return table.display_name


def all_rules(report: Report) -> list[Rule]:
    """report.rules plus any rule a finding uses that is missing there, so none is dropped."""
    rules = {rule.id: rule for rule in report.rules}
    for finding in report.findings:
        rules.setdefault(finding.rule.id, finding.rule)
    return list(rules.values())


def snippets(remediation: Remediation) -> list[tuple[str, str, str]]:
    """(label, fence language, code) of the non-empty fix snippets."""
    found = [(label, lang, getattr(remediation, attr).strip()) for label, lang, attr in SNIPPETS]
    return [snippet for snippet in found if snippet[2]]


def fix_text(remediation: Remediation) -> str:
    """The fix as plain text: summary, then each snippet under its label."""
    parts = [remediation.summary]
    for label, _, code in snippets(remediation):
        parts.append(f"{label}:\n{code}")
    return "\n\n".join(parts)


def fix_markdown(remediation: Remediation) -> str:
    """The fix as Markdown: summary as escaped prose (it names the table), then each snippet
    in a fenced code block whose fence no line of the snippet can close."""
    parts = [markdown_text(remediation.summary)]
    for label, lang, code in snippets(remediation):
        fence = markdown_fence(code)
        parts.append(f"**{label}**\n\n{fence}{lang}\n{code}\n{fence}")
    return "\n\n".join(parts)


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def active(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if not f.suppressed]


def failed(report: Report) -> bool:
    """The default gate (--fail-on error): an unsuppressed error, or an unreadable input."""
    return bool(report.errors) or report.summary()["errors"] > 0


def scope(report: Report) -> str:
    """What the run looked at, e.g. '12 tables across 3 stacks'."""
    tables = plural(report.summary()["tables"], "table")
    return f"{tables} across {plural(report.stacks, 'stack')}" if report.stacks else tables


def summary_line(report: Report) -> str:
    """One sentence with the counts that decide a run, e.g. '2 errors, 1 warning in 3 tables'."""
    summary = report.summary()
    infos = summary["findings"] - summary["errors"] - summary["warnings"]
    counts = [
        plural(summary["errors"], "error"),
        plural(summary["warnings"], "warning"),
        plural(infos, "info", "info"),
    ]
    found = [c for c in counts if not c.startswith("0 ")]
    if summary["suppressed"]:
        found.append(f"{summary['suppressed']} suppressed")
    where = scope(report)
    line = f"{', '.join(found)} in {where}" if found else f"No findings in {where}"
    config_errors = sum(error.kind == CONFIG_ERROR for error in report.errors)
    if config_errors:
        line += f"; {plural(config_errors, 'configuration error')}"
    if len(report.errors) > config_errors:
        line += f"; {plural(len(report.errors) - config_errors, 'input')} could not be read"
    return line
