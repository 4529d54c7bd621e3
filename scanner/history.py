"""Write one audit run to disk, and say what changed since the previous run.

A run directory holds every table's blueprint and runbook, the reports, and
``summary.json``: the per-table protections the next run compares against, and the map from
each table to its files. A run is written in a temporary sibling directory and renamed into
place once complete, ``summary.json`` written last: a directory with a ``summary.json`` is a
complete run, and only complete runs are compared with. Protection is
tri-state (True, False, None for unknown), and only a definite on -> off is "lost", so a
table that merely could not be read this time is not reported as unprotected.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tablesafe import __version__
from tablesafe.model import Finding, Report, Unknown
from tablesafe.neutralize import text
from tablesafe.reports import render
from tablesafe.rules.ts004_removal_policy_not_retain import (
    SAFE_DELETION_POLICIES,
    SAFE_UPDATE_REPLACE_POLICIES,
)

from .blueprint import blueprint, blueprint_path, runbook_path
from .drill_results import DrillHistory, TableKey, drill_view
from .html_report import REPORT_PAGE, findings_by_record, render_html, render_runbook_page, runbook_page_path
from .live import describe_record, where
from .records import TableRecord
from .runbook import render_runbook

if TYPE_CHECKING:
    from .audit import AuditResult

SUMMARY_FILE = "summary.json"
PROTECTIONS = ("pitr", "deletion_protection", "retain")
RUN_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\Z", re.ASCII)
"""Run directories are named by their UTC start time, e.g. 2026-11-22T15-30-00Z: sorting the
names sorts the runs."""


def _all_on(values: Iterable[Any]) -> bool | None:
    """False if any value is off (or unset), else None if any is Unknown, else True."""
    values = list(values)
    if any(value is False or value is None for value in values):
        return False
    return None if any(isinstance(value, Unknown) for value in values) else True


def _in(value: str | Unknown | None, safe: frozenset[str]) -> bool | Unknown:
    return value if isinstance(value, Unknown) else value in safe


def protections(record: TableRecord) -> dict[str, bool | None]:
    """PITR and deletion protection on the table and every replica; Retain on the stack (an
    unmanaged table counts as retained: no stack can delete it)."""
    tables = describe_record(record).tables
    table = tables[0]
    return {
        "pitr": _all_on(t.pitr_enabled for t in tables),
        "deletion_protection": _all_on(t.deletion_protection for t in tables),
        "retain": _all_on(
            [
                _in(table.deletion_policy, SAFE_DELETION_POLICIES),
                _in(table.update_replace_policy, SAFE_UPDATE_REPLACE_POLICIES),
            ]
        ),
    }


def _table_entry(record: TableRecord, findings: list[Finding], bp: Mapping[str, Any]) -> dict[str, Any]:
    """A table's entry in summary.json; "drill" is its last drill and last proven one (see
    drill_view), present when the run read drill results."""

    def ids(suppressed: bool) -> list[str]:
        return sorted(
            {
                f.rule.id + (f"@{f.replica_region}" if f.replica_region else "")
                for f in findings
                if f.suppressed is suppressed
            }
        )

    return {
        "key": where(record.account, record.region, record.name),
        "arn": bp["table_arn"],
        "account": record.account,
        "region": record.region,
        "name": record.name,
        "status": record.status,
        "stack": record.stack.name if record.stack else None,
        "protections": protections(record),
        "findings": ids(False),
        "suppressed": ids(True),
        "unreadable": sorted({problem["api"] for problem in bp["unreadable"]}),
        "blueprint": blueprint_path(Path(), record).as_posix(),
        "runbook": runbook_path(Path(), record).as_posix(),
        "runbook_page": runbook_page_path(Path(), record).as_posix(),
        **({"drill": bp["drill"]} if "drill" in bp else {}),
    }


def compare(previous: Iterable[Mapping[str, Any]], current: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """New and deleted tables, and protections turned off (lost) or on (gained), by table key."""
    before = {table["key"]: table for table in previous}
    after = {table["key"]: table for table in current}
    changes: dict[str, Any] = {
        "new": [key for key in after if key not in before],
        "deleted": [key for key in before if key not in after],
        "lost_protection": [],
        "gained_protection": [],
    }
    for key in after.keys() & before.keys():
        for protection in PROTECTIONS:
            was = before[key].get("protections", {}).get(protection)
            now = after[key]["protections"].get(protection)
            if was is not None and now is not None and was != now:
                entry = {"table": key, "arn": after[key]["arn"], "protection": protection}
                changes["gained_protection" if now else "lost_protection"].append(entry)
    for kind in ("lost_protection", "gained_protection"):
        changes[kind].sort(key=lambda entry: (entry["table"], entry["protection"]))
    return changes


@dataclass(slots=True)
class RunSummary:
    """What one run found and what changed since the previous one: what a notifier needs."""

    output_dir: Path
    generated_at: str
    tool_version: str
    counts: dict[str, int]
    tables: list[dict[str, Any]]
    previous_run: str | None = None
    new: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    lost_protection: list[dict[str, Any]] = field(default_factory=list)
    gained_protection: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False
    """Some inputs could not be read: a 'deleted' table may only have been unreadable."""

    def changes(self) -> dict[str, Any]:
        return {
            "previous_run": self.previous_run,
            "partial": self.partial,
            "new": self.new,
            "deleted": self.deleted,
            "lost_protection": self.lost_protection,
            "gained_protection": self.gained_protection,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": "tablesafe",
            "version": self.tool_version,
            "generated_at": self.generated_at,
            "counts": self.counts,
            "tables": self.tables,
            "changes": self.changes(),
        }

    def summary_text(self) -> str:
        """A few lines for a chat message or an e-mail subject and body."""
        counts = self.counts
        lines = [
            f"tablesafe audit {self.generated_at}: {counts['tables']} tables, {counts['errors']} errors, "
            f"{counts['warnings']} warnings"
            + (f", {counts['read_problems']} read problems (partial)" if self.partial else "")
        ]
        # table keys come from AWS answers: one line each, whatever they hold (neutralize.text)
        lines += [f"LOST {entry['protection']}: {text(entry['table'])}" for entry in self.lost_protection]
        if self.previous_run is None:
            lines.append("No previous run to compare with.")
        else:
            lines.append(
                f"Since {self.previous_run}: {len(self.new)} new, {len(self.deleted)} deleted, "
                f"{len(self.lost_protection)} lost protection, "
                f"{len(self.gained_protection)} gained protection"
            )
            lines += [f"new: {text(key)}" for key in self.new]
            lines += [
                f"deleted: {text(key)}" + (" (or unreadable this run)" if self.partial else "")
                for key in self.deleted
            ]
        return "\n".join(lines)


def _counts(report: Report, tables: list[dict[str, Any]]) -> dict[str, int]:
    summary = report.summary()
    counts = {
        "tables": len(tables),
        "accounts": len({t["account"] for t in tables}),
        "regions": len({(t["account"], t["region"]) for t in tables}),
        "findings": summary["findings"],
        "errors": summary["errors"],
        "warnings": summary["warnings"],
        "suppressed": summary["suppressed"],
        "read_problems": len(report.errors),
        "partly_unreadable_tables": sum(bool(t["unreadable"]) for t in tables),
    }
    for protection in PROTECTIONS:
        counts[f"{protection}_on"] = sum(t["protections"][protection] is True for t in tables)
    return counts


def _previous_tables(previous: Path | None) -> list[dict[str, Any]] | None:
    """The tables of a previous run (its directory or its summary.json); None when unreadable."""
    if previous is None:
        return None
    path = previous / SUMMARY_FILE if previous.is_dir() else previous
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["tables"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


class OutputDirError(Exception):
    """--output-dir cannot take the run; one line, exit 2."""


def is_run(directory: Path) -> bool:
    """True when directory holds a complete tablesafe run (its summary.json says so)."""
    try:
        return json.loads((directory / SUMMARY_FILE).read_text(encoding="utf-8")).get("tool") == "tablesafe"
    except (OSError, ValueError, AttributeError):
        return False


def check_output_dir(output_dir: Path) -> None:
    """Raise OutputDirError unless the run may go to output_dir: a new or empty directory, or
    a complete tablesafe run, which the new run replaces whole. Anything else is refused, so
    that a mistyped --output-dir never deletes other files or mixes a run into them."""
    if not output_dir.exists() and not output_dir.is_symlink():
        return
    if output_dir.is_symlink() or not output_dir.is_dir():
        raise OutputDirError(f"{output_dir} exists and is not a directory: refusing to replace it")
    if any(output_dir.iterdir()) and not is_run(output_dir):
        raise OutputDirError(
            f"{output_dir} is not empty and holds no tablesafe run (no summary.json): refusing to "
            "replace it; choose another --output-dir or remove it"
        )


def _sibling(output_dir: Path, purpose: str) -> Path:
    """A hidden, unique name beside output_dir, never taken for a run (see RUN_NAME)."""
    return output_dir.with_name(f".{output_dir.name}.{purpose}-{uuid.uuid4().hex[:12]}")


def _swap_in(written: Path, output_dir: Path) -> Path:
    """Put the complete run written beside output_dir in its place; returns where the old run
    there (if any) was moved, to be removed once the new one is in place."""
    check_output_dir(output_dir)
    old = _sibling(output_dir, "replaced")
    try:
        if output_dir.exists():
            os.rename(output_dir, old)
        os.rename(written, output_dir)
    except BaseException:  # interrupted or refused: the old run goes back
        if old.exists() and not output_dir.exists():
            os.rename(old, output_dir)
        raise
    return old


def _remove(path: Path) -> None:
    """Remove path, and finish doing so when interrupted: the new run is already in place,
    so a Ctrl-C now has nothing left to stop and must not leave half a directory."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    except KeyboardInterrupt:
        shutil.rmtree(path, ignore_errors=True)


def write_run(
    output_dir: Path,
    report: Report,
    records: list[TableRecord],
    *,
    tool_version: str,
    previous: Path | None,
    drills: Mapping[TableKey, DrillHistory] | None = None,
) -> RunSummary:
    """Blueprints, runbooks, reports, changes.json and summary.json of one run, as output_dir.

    The run is written in a temporary sibling, summary.json last, and renamed into place
    when complete; an existing output_dir is replaced whole if it holds a run, else refused
    (OutputDirError, see check_output_dir). Interrupted before it is in place, it leaves
    output_dir as it was; once in place, the old run's removal is finished whatever happens.
    previous is the previous run's directory (see find_previous_run), or None. drills: each
    drilled table's history when the audit read drill results (the blueprints, runbooks,
    summary.json and report then show each table's last drill).
    """
    check_output_dir(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    # Named before it exists, so that an interruption at any point still removes it.
    writing = _sibling(output_dir, "writing")
    try:
        writing.mkdir()
        summary = _write_files(
            writing, report, records, tool_version=tool_version, previous=previous, drills=drills
        )
        old = _swap_in(writing, output_dir)
    finally:
        shutil.rmtree(writing, ignore_errors=True)
    _remove(old)
    summary.output_dir = output_dir
    return summary


def write_audit(output_dir: Path, result: AuditResult, *, previous: Path | None) -> RunSummary:
    """write_run for one audit's result, by this version of tablesafe."""
    return write_run(
        output_dir,
        result.report,
        result.records,
        tool_version=__version__,
        previous=previous,
        drills=result.drills,
    )


def _write_files(
    output_dir: Path,
    report: Report,
    records: list[TableRecord],
    *,
    tool_version: str,
    previous: Path | None,
    drills: Mapping[TableKey, DrillHistory] | None,
) -> RunSummary:
    tables = []
    findings = findings_by_record(records, report.findings)
    for record in sorted(records, key=lambda r: (r.account, r.region, r.name)):
        bp = blueprint(record)
        if drills is not None:  # the run read drill results: say whether recreation was proven
            bp["drill"] = drill_view(drills.get((record.account, record.region, record.name)))
        _write(blueprint_path(output_dir, record), _json(bp))
        runbook = render_runbook(bp)
        _write(runbook_path(output_dir, record), runbook)
        _write(runbook_page_path(output_dir, record), render_runbook_page(runbook, record))
        tables.append(_table_entry(record, findings[id(record)], bp))
    previous_tables = _previous_tables(previous)
    summary = RunSummary(
        output_dir=output_dir,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        tool_version=tool_version,
        counts=_counts(report, tables),
        tables=tables,
        partial=bool(report.errors),
    )
    if previous is not None and previous_tables is not None:
        changes = compare(previous_tables, tables)
        summary.previous_run = previous.name if previous.is_dir() else previous.parent.name
        summary.new, summary.deleted = changes["new"], changes["deleted"]
        summary.lost_protection, summary.gained_protection = (
            changes["lost_protection"],
            changes["gained_protection"],
        )
    _write(output_dir / "changes.json", _json(summary.changes()))
    _write(output_dir / "report.json", render(report, "json", tool_version=tool_version))
    _write(output_dir / REPORT_PAGE, render_html(report, records, tool_version=tool_version, drills=drills))
    _write(output_dir / SUMMARY_FILE, _json(summary.to_dict()))  # last: the run is complete
    return summary


def previous_runs(names: Iterable[str], current: str) -> list[str]:
    """The timestamp-named runs among names, latest first, before current (all of them when
    current is not timestamp-named): where a run directory or an S3 prefix looks for its predecessor."""
    runs = [name for name in names if RUN_NAME.match(name) and name != current]
    if RUN_NAME.match(current):
        runs = [name for name in runs if name < current]
    return sorted(runs, reverse=True)


def find_previous_run(parent: Path, current: Path) -> Path | None:
    """The latest timestamp-named sibling of current, before it, that holds a summary.json."""
    if not parent.is_dir():
        return None
    names = previous_runs((path.name for path in parent.iterdir()), current.name)
    return next((parent / name for name in names if (parent / name / SUMMARY_FILE).is_file()), None)
