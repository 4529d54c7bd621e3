"""Restore-drill results: where each drill writes its result, and how the audit reads them back.

A drill writes one JSON file, ``<root>/<account>/<region>/<table file stem>/<UTC time>.json``
(the table's file stem as the audit names its blueprint, so any valid table name, up to 255
characters or ``...``, gets a folder of its own), atomically: a temporary file beside it,
then ``os.replace``. The CLI's root is ``--output-dir`` (default ``drills``); the scheduled
drill's is the ``drills/`` prefix of the audit bucket. The audit (``--drills DIR``, or the
scheduled audit from its bucket) reads, for each table, the latest result and the latest
proven one. No boto3 here: the audit's report and TS008 read results without it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tablesafe.model import InputError
from tablesafe.neutralize import text

from .blueprint import path_part, table_file_stem
from .drill_settings import usd

RESULT_VERSION = 1
PROVEN, NOT_RECREATABLE, UNFINISHED, INTERRUPTED = "proven", "not-recreatable", "unfinished", "interrupted"
VERDICT_EXIT = {PROVEN: 0, NOT_RECREATABLE: 1, UNFINISHED: 3, INTERRUPTED: 130}
"""Each verdict's exit code (2, cannot start, writes no result: nothing ran)."""
DRILLS_PREFIX = "drills/"
"""Where the scheduled drill writes results in the audit bucket, and the scheduled audit reads them."""
STAMP_FORMAT = "%Y-%m-%dT%H-%M-%SZ"
RESULT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.json\Z", re.ASCII)
MAX_RESULT_BYTES = 1 << 20
"""A result holds counts and at most MAX_DIFFERENCES short lines: far less than this."""
MAX_RESULTS_READ = 50
"""Results read per table, newest first, looking for the last proven one."""
MAX_LISTED = 100_000
"""Entries of one table's folder looked at: about 270 years of daily drills."""
MAX_DIFFERENCES = 50


def table_dir(root: Path, account: str, region: str, name: str) -> Path:
    return root / path_part(account) / path_part(region) / table_file_stem(name)


def result_name(result: Mapping[str, Any]) -> str:
    """``<account>/<region>/<table file stem>/<UTC start time>.json``: where a result goes
    under its root (a folder, or the bucket's drills/ prefix)."""
    table = result["table"]
    started = dt.datetime.fromisoformat(result["started_at"])
    folder = PurePosixPath(
        path_part(table["account"]), path_part(table["region"]), table_file_stem(table["name"])
    )
    return f"{folder}/{started.strftime(STAMP_FORMAT)}.json"


def write_result(root: Path, result: Mapping[str, Any]) -> Path:
    """Write result where the audit finds it (named by its start time), atomically; returns the path."""
    path = root / result_name(result)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".drill-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(result, indent=2) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True, slots=True)
class DrillHistory:
    """One table's latest drill result, and its latest proven one (None: never proven)."""

    last: Mapping[str, Any]
    last_file: str
    last_proven: Mapping[str, Any] | None
    last_proven_file: str | None

    @property
    def proven_day(self) -> dt.date | None:
        """The UTC day of the last successful drill (TS008 judges its age)."""
        return _started(self.last_proven).date() if self.last_proven else None

    def view(self) -> dict[str, Any]:
        """What summary.json, the report and the runbook show of it."""
        last = self.last
        return {
            "last": {
                "date": _started(last).date().isoformat(),
                "verdict": last["verdict"],
                "recovery_seconds": last.get("recovery_seconds"),
                "file": self.last_file,
            },
            "last_proven": None
            if self.last_proven is None
            else {
                "date": _started(self.last_proven).date().isoformat(),
                "recovery_seconds": self.last_proven.get("recovery_seconds"),
                "items": (self.last_proven.get("counts") or {}).get("exported"),
                "sampled": (self.last_proven.get("sample") or {}).get("compared"),
                "file": self.last_proven_file,
            },
            "line": proven_line(self.last_proven) if self.last_proven else "never proven",
        }


def _started(result: Mapping[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(result["started_at"])


def duration(seconds: float | None) -> str:
    """A recovery time for people: 45 s, 14 min, 2 h 5 min."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def proven_line(result: Mapping[str, Any]) -> str:
    """'last proven: 2026-12-07, 14 min, 120,000 items, 1,000 sampled equal'."""
    items = (result.get("counts") or {}).get("exported")
    sampled = (result.get("sample") or {}).get("equal")
    parts = [
        f"last proven: {_started(result).date().isoformat()}",
        duration(result.get("recovery_seconds")),
        f"{items:,} item{'s' * (items != 1)}" if isinstance(items, int) else "items not counted",
        f"{sampled:,} sampled equal" if isinstance(sampled, int) else "no sample",
    ]
    return ", ".join(parts)


def _checked(data: Any, name: str) -> Mapping[str, Any]:
    """data when it is a drill result of table name, with the fields the audit reads; raises
    ValueError saying what is wrong otherwise (a result file is input: it may be damaged)."""
    if not isinstance(data, Mapping) or data.get("tool") != "tablesafe" or "drill_id" not in data:
        raise ValueError("not a tablesafe drill result")
    table = data.get("table")
    if not isinstance(table, Mapping):
        raise ValueError("it names no table")
    if table.get("name") != name:
        raise ValueError(f"a result of another table, {text(repr(table.get('name'))[:80])}")
    if data.get("verdict") not in VERDICT_EXIT:
        raise ValueError(f"unknown verdict {text(repr(data.get('verdict'))[:40])}")
    if not isinstance(data.get("started_at"), str):
        raise ValueError("started_at is missing")
    started = dt.datetime.fromisoformat(data["started_at"])
    if started.tzinfo is None:
        raise ValueError("started_at has no time zone")
    recovery = data.get("recovery_seconds")
    if recovery is not None and (isinstance(recovery, bool) or not isinstance(recovery, int | float)):
        raise ValueError("recovery_seconds is not a number")
    for section in ("counts", "sample"):
        if not isinstance(data.get(section), Mapping):
            raise ValueError(f"{section} is missing")
    return data


def _read(path: Path, name: str) -> Mapping[str, Any]:
    with path.open("rb") as stream:
        raw = stream.read(MAX_RESULT_BYTES + 1)
    if len(raw) > MAX_RESULT_BYTES:
        raise ValueError(f"larger than {MAX_RESULT_BYTES:,} bytes")
    return _checked(json.loads(raw.decode("utf-8")), name)


def read_history(
    root: Path, account: str, region: str, name: str
) -> tuple[DrillHistory | None, list[InputError]]:
    """The table's drill history under root (None when it has no result), and an error per
    result file that could not be read (naming the file). Results are read newest first until
    a proven one is found, at most MAX_RESULTS_READ of them."""
    folder = table_dir(root, account, region, name)
    problems: list[InputError] = []
    try:
        with os.scandir(folder) as entries:
            names = []
            for index, entry in enumerate(entries):
                if index >= MAX_LISTED:
                    problems.append(
                        InputError(str(folder), f"more than {MAX_LISTED:,} entries; the others were not read")
                    )
                    break
                if RESULT_NAME.match(entry.name):
                    names.append(entry.name)
    except FileNotFoundError:
        return None, []
    except OSError as error:
        return None, [InputError(str(folder), f"cannot be read: {error.strerror or error}")]
    last: tuple[Mapping[str, Any], str] | None = None
    for file_name in sorted(names, reverse=True)[:MAX_RESULTS_READ]:
        path = folder / file_name
        try:
            result = _read(path, name)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            problems.append(InputError(str(path), f"not a readable drill result: {text(error)}"))
            continue
        shown = path.relative_to(root).as_posix()
        last = last or (result, shown)
        if result["verdict"] == PROVEN:
            return DrillHistory(last[0], last[1], result, shown), problems
    if last is None:
        return None, problems
    return DrillHistory(last[0], last[1], None, None), problems


def _bytes_text(size: Any) -> str:
    if not isinstance(size, int):
        return "size unknown"
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "unknown"


def summary_text(result: Mapping[str, Any], path: str | None = None) -> str:
    """The drill's result for people: the verdict first, then each phase, the recovery time,
    the cost and what was cleaned up. Every value from AWS or the data is neutralized."""
    table, counts, sample = result["table"], result["counts"], result["sample"]
    phases, verdict = result["phases"], result["verdict"]
    where = text(f"{table['name']} ({table['account']}/{table['region']})")
    heading = {
        PROVEN: f"{where} is proven recreatable by {result['route']}",
        NOT_RECREATABLE: f"{where} is NOT recreatable as recorded ({result['route']})",
        UNFINISHED: f"the drill of {where} could not finish ({result['route']})",
        INTERRUPTED: f"the drill of {where} was interrupted ({result['route']})",
    }[verdict]
    lines = [f"tablesafe drill {result['drill_id']}: {heading}"]
    if result.get("problem") and verdict != PROVEN:
        lines.append(f"  why             {text(result['problem'])}")
    lines.append(f"  recovery point  {result.get('recovery_point') or 'the latest restorable time'}")
    if phases.get("export") is not None:
        billed = _bytes_text((result.get("size") or {}).get("export_billed_bytes"))
        lines.append(
            f"  export          {duration(phases['export'])}, {_number(counts['exported'])} items, {billed}"
        )
    if phases.get("import") is not None:
        lines.append(
            f"  import          {duration(phases['import'])}, {_number(counts['processed'])} processed, "
            f"{_number(counts['imported'])} imported, {_number(counts['import_errors'])} errors"
        )
    if phases.get("restore") is not None:
        lines.append(f"  restore         {duration(phases['restore'])}")
    if phases.get("compare") is not None:
        restored = (
            f", {_number(counts['restored'])} items restored" if counts.get("restored") is not None else ""
        )
        lines.append(
            f"  compare         {duration(phases['compare'])}: {_number(sample['equal'])} of "
            f"{_number(sample['compared'])} sampled items equal{restored}"
        )
    shown = result.get("differences") or []
    for difference in shown:
        lines.append(f"  - {text(difference['detail'])}")
    if result.get("difference_count", 0) > len(shown):
        lines.append(f"  ... and {result['difference_count'] - len(shown)} more differences")
    recovery = result.get("recovery_seconds")
    if recovery is not None:
        total = duration(result["total_seconds"])
        lines.append(f"  recovery time   {duration(recovery)}; the whole drill took {total}")
    cost = result["cost"]
    lines.append(f"  cost            {usd(cost['estimate_usd'])} at list prices (an estimate)")
    scratch = result["scratch_table"]
    if scratch["created"]:
        state = "deleted" if scratch["deleted"] else "NOT deleted"
        lines.append(f"  scratch table   {scratch['name']}, {state}")
    export = result["export"]
    kept = "kept (--keep)" if export["kept"] else "deleted" if export["removed"] else "NOT deleted"
    lines.append(f"  export          s3://{text(export['bucket'])}/{text(export['prefix'])}, {kept}")
    if path:
        lines.append(f"  result          {text(path)}")
    return "\n".join(lines)


def drill_view(history: DrillHistory | None) -> dict[str, Any]:
    """A table's drill history as the blueprint, summary.json and the report show it."""
    if history is None:
        return {"last": None, "last_proven": None, "line": "never drilled"}
    return history.view()


TableKey = tuple[str, str, str]
"""(account, region, table name)."""


def read_drills(
    root: Path, tables: Iterable[TableKey]
) -> tuple[dict[TableKey, DrillHistory], list[InputError]]:
    """The drill history of every table that has one under root, and an InputError per result
    file that could not be read (the audit reports it and goes on)."""
    histories: dict[TableKey, DrillHistory] = {}
    errors: list[InputError] = []
    for key in tables:
        history, problems = read_history(root, *key)
        if history is not None:
            histories[key] = history
        errors += problems
    return histories, errors
