"""AWS Lambda entry points of the scheduled audit: one Lambda run, or a Step Functions fan-out.

Both modes write the same run as `tablesafe audit --output-dir` (blueprints and runbooks under
``tables/``, ``summary.json``, ``changes.json``, ``report.html``, ``report.json``) to
``s3://$TABLESAFE_REPORT_BUCKET/$TABLESAFE_REPORT_PREFIX<run_id>/``, compare it with the
previous run found there, and publish a short summary to ``$TABLESAFE_TOPIC_ARN`` when the run
has error findings or read problems, or when a table lost protection since the previous run.

- ``run``: everything in one invocation (the CLI's own audit, ``run_audit``).
- ``plan`` -> ``audit_item`` per (account, region) in a Distributed Map -> ``merge``: the same
  audit cut at its seams (``resolve_scope``, ``read_regions``, ``judge_records``), with the
  parts in S3 (``plan.json``, ``parts/<account>-<region>.json``).

Limits. A Lambda invocation lasts at most 15 minutes. Reading a table costs DescribeTable,
DescribeContinuousBackups, DescribeTimeToLive and ListTagsOfResource (plus two CloudFormation
calls for an untagged table); DescribeContinuousBackups and ListTagsOfResource are limited to
10 calls per second per account and region, and the client-side rate limiter (scanner/aws.py)
keeps every account-region at that pace, so one account-region is read at about 600 tables a
minute whatever the concurrency. Account-regions are read in parallel by TABLESAFE_CONCURRENCY
threads (16 by default; an estimated 50-80 tables a second in all against the real APIs).
Writing the run costs about 3 ms a table plus two uploads. So ``run`` suits up to about 5,000
tables in one account-region, or roughly 30,000 spread over many account-regions, with minutes
to spare; beyond that, or for an organization, use the fan-out.

Fan-out keeps every item far below both limits: an item is one account in one region, so it
has that account-region's whole rate budget to itself (the limits are per account and region,
and no two items share one), and its size is bounded by DynamoDB's tables-per-region quota
(2,500 by default, about 4 minutes at 600 tables a minute). ``plan`` assumes each member role
once (STS at 5 calls a second: about 3,000 accounts in 10 minutes). ``merge`` is the one step
that grows with the organization's table count: it holds every record in memory and writes
the run to /tmp before uploading it (about 3 ms and 15 KB of disk a table: on the order of
100,000 tables in 15 minutes, but the default 512 MB of ephemeral storage holds about 30,000
tables, so a large organization needs the function's ephemeral storage raised, up to 10 GB).
Step Functions limits a state's payload
to 256 KiB: ``audit_item`` returns four small fields, while ``plan`` returns every item (about
80 bytes each, so about 3,000 items; beyond that the state machine should read them from
``plan.json`` with an ItemReader). An item that failed or timed out leaves no part in S3, and
``merge`` reports it as a read problem, so a partial run says so; so is a part that cannot be
read (corrupt, cut short, of the wrong shape), and a record in it that cannot be.

A run is never lost and never looks complete when it is not. ``run`` and ``audit_item`` stop
starting reads when the invocation's remaining time gets short (WRITE_RESERVE_SECONDS before
the end), and write what was read, each table not read marked so (the run is partial).
Uploads put every other object first and ``summary.json``, the completion marker, last, only
once the others succeeded; the previous run is the latest one with a ``summary.json``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from tablesafe.config import MAX_DRILL_AGE_DAYS, Config
from tablesafe.model import InputError, RuleSettings
from tablesafe.rules.ts008_recreation_unproven import RULE as TS008
from tablesafe.scanner import discover
from tablesafe.scanner.audit import (
    DEFAULT_CONCURRENCY,
    AuditOptions,
    AuditResult,
    judge_records,
    read_regions,
    resolve_scope,
    run_audit,
)
from tablesafe.scanner.aws import error_text, list_objects, pages
from tablesafe.scanner.cli import default_output_dir
from tablesafe.scanner.drill_results import (
    DRILLS_PREFIX,
    MAX_RESULT_BYTES,
    MAX_RESULTS_READ,
    PROVEN,
    RESULT_NAME,
)
from tablesafe.scanner.history import RUN_NAME, SUMMARY_FILE, RunSummary, previous_runs, write_audit
from tablesafe.scanner.records import TableRecord, record_from_json, record_to_json

DEFAULT_PREFIX = "tablesafe-audit/"
PLAN_FILE = "plan.json"
PARTS_DIR = "parts/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
}
SUBJECT_LIMIT = 100
"""SNS refuses a longer Subject (it must also be ASCII, which the counts-only subject is)."""
MISSING_PART = "no audit result: the Lambda auditing this account and region failed or timed out"
WRITE_RESERVE_SECONDS = 90.0
"""Time kept back from reading for writing and uploading the run (about 3 ms a table plus
the uploads): reading stops this long before the invocation's end."""
MAX_LIST_PAGES = 1000
"""S3 ListObjectsV2 pages of 1,000 run prefixes: a daily schedule for 2,700 years."""
_SAFE_PART = re.compile(r"^(?!\.\.?\Z)[A-Za-z0-9_.~-]+\Z", re.ASCII)
"""An account, region or table file stem as a drill writes it (never '.' or '..')."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The Lambda's configuration, from the environment variables the construct sets."""

    bucket: str
    prefix: str
    topic_arn: str | None
    options: AuditOptions
    config: Config = field(default_factory=Config)
    """The rules' configuration: TS008 on when TABLESAFE_DRILL_MAX_AGE_DAYS is set."""

    def run_prefix(self, run_id: str) -> str:
        return f"{self.prefix}{run_id}/"


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Validated settings; a ValueError names the variable, before any AWS call is made."""
    env = os.environ if env is None else env
    bucket = env.get("TABLESAFE_REPORT_BUCKET", "").strip()
    if not bucket:
        raise ValueError("TABLESAFE_REPORT_BUCKET is not set: the S3 bucket that receives the audit runs")
    prefix = env.get("TABLESAFE_REPORT_PREFIX", DEFAULT_PREFIX).strip()
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    regions = env.get("TABLESAFE_REGIONS", "").strip() or None
    accounts_text = env.get("TABLESAFE_ACCOUNTS", "").strip()
    try:
        if regions:
            discover.parse_regions(regions, None, option="TABLESAFE_REGIONS")
        accounts = (
            discover.parse_accounts(accounts_text, option="TABLESAFE_ACCOUNTS") if accounts_text else []
        )
    except discover.UsageError as error:
        raise ValueError(str(error)) from None
    organization = _flag(env, "TABLESAFE_ORGANIZATION")
    if accounts and organization:
        raise ValueError("TABLESAFE_ACCOUNTS and TABLESAFE_ORGANIZATION=true exclude each other: set one")
    role_name = env.get("TABLESAFE_ROLE_NAME", "").strip() or None
    if (accounts or organization) and not role_name:
        raise ValueError(
            "TABLESAFE_ROLE_NAME is not set: it names the role to assume in the accounts of "
            "TABLESAFE_ACCOUNTS or TABLESAFE_ORGANIZATION"
        )
    concurrency_text = env.get("TABLESAFE_CONCURRENCY", "").strip() or str(DEFAULT_CONCURRENCY)
    if not concurrency_text.isdigit() or int(concurrency_text) < 1:
        raise ValueError(
            f"TABLESAFE_CONCURRENCY: expected a whole number of at least 1, not {concurrency_text!r}"
        )
    options = AuditOptions(
        regions=regions,
        # Without accounts the Lambda audits its own account: no role to assume.
        role_name=role_name if accounts or organization else None,
        accounts=tuple(accounts),
        organization=organization,
        concurrency=int(concurrency_text),
    )
    return Settings(
        bucket, prefix, env.get("TABLESAFE_TOPIC_ARN", "").strip() or None, options, _drill_config(env)
    )


def _drill_config(env: Mapping[str, str]) -> Config:
    """TS008 (recreation-unproven) with its maximum age when TABLESAFE_DRILL_MAX_AGE_DAYS is
    set; the default rules otherwise."""
    text = env.get("TABLESAFE_DRILL_MAX_AGE_DAYS", "").strip()
    if not text:
        return Config()
    if not text.isdigit() or not 1 <= int(text) <= MAX_DRILL_AGE_DAYS:
        allowed = f"a whole number from 1 to {MAX_DRILL_AGE_DAYS}"
        raise ValueError(f"TABLESAFE_DRILL_MAX_AGE_DAYS: expected {allowed}, not {text!r}")
    return Config(enabled=frozenset({TS008.id}), settings=RuleSettings(drill_max_age_days=int(text)))


def download_drills(s3: Any, bucket: str, into: Path) -> Path:
    """The drill results of the bucket's drills/ prefix (what ScheduledRestoreDrill writes),
    saved under into as `tablesafe drill --output-dir` writes them: for each table its newest
    results, down to its latest proven one (at most MAX_RESULTS_READ). A key whose folders are
    not the names a drill writes (a path that could leave into) is passed over."""
    folders: dict[str, list[str]] = defaultdict(list)
    for page in list_objects(s3, bucket, DRILLS_PREFIX):
        for entry in page.get("Contents", []):
            folder, _, name = str(entry.get("Key", "")).removeprefix(DRILLS_PREFIX).rpartition("/")
            parts = folder.split("/")
            if RESULT_NAME.match(name) and len(parts) == 3 and all(_SAFE_PART.match(p) for p in parts):
                folders[folder].append(name)
    for folder, names in folders.items():
        for name in sorted(names, reverse=True)[:MAX_RESULTS_READ]:
            body = s3.get_object(Bucket=bucket, Key=f"{DRILLS_PREFIX}{folder}/{name}")["Body"]
            data = body.read(MAX_RESULT_BYTES + 1)
            path = into / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            try:
                proven = json.loads(data).get("verdict") == PROVEN
            except (ValueError, AttributeError):
                proven = False  # the audit names the damaged file
            if proven:
                break
    return into


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text not in ("", "true", "false"):
        raise ValueError(f"{name}: expected true or false, not {env[name]!r}")
    return text == "true"


def _event(event: object, handler: str) -> Mapping[str, Any]:
    """The event when it is a JSON object; a ValueError naming the handler otherwise."""
    if not isinstance(event, Mapping):
        raise ValueError(f"{handler}: expected the event to be a JSON object, not {type(event).__name__}")
    return event


def _event_text(event: Mapping[str, Any], key: str, example: str) -> str:
    value = event.get(key)
    if not isinstance(value, str):
        raise ValueError(f"event {key}: expected a string such as {example}, not {type(value).__name__}")
    return value


def _run_id(event: Mapping[str, Any]) -> str:
    """The plan's run id from a Step Functions event; it becomes part of every S3 key."""
    run_id = event.get("run_id")
    if not isinstance(run_id, str) or not RUN_NAME.match(run_id):
        shown = repr(run_id)[:60] if isinstance(run_id, str) else type(run_id).__name__
        raise ValueError(f"event run_id: expected the plan's run id, e.g. 2026-01-31T02-00-00Z, not {shown}")
    return run_id


def _stop_at(context: object) -> float | None:
    """When to stop starting reads (time.monotonic()): WRITE_RESERVE_SECONDS before the
    invocation ends; None without a Lambda context (a test, a local call)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + remaining() / 1000 - WRITE_RESERVE_SECONDS


def part_key(settings: Settings, run_id: str, account: str, region: str) -> str:
    """Where audit_item stores an account-region's records, and where merge looks for them."""
    return f"{settings.run_prefix(run_id)}{PARTS_DIR}{account}-{region}.json"


# --- handlers ---------------------------------------------------------------------------------


def run(event: object, context: object) -> dict[str, Any]:
    """Single-Lambda mode: audit everything in scope, write the run to S3, publish."""
    _event(event, "run")
    settings = settings_from_env()
    with tempfile.TemporaryDirectory(prefix="tablesafe-drills-") as tmp:
        drills = download_drills(_s3(settings), settings.bucket, Path(tmp))
        result = run_audit(
            settings.options, settings.config, progress=False, stop_at=_stop_at(context), drills=drills
        )
    return publish_run(settings, default_output_dir().name, result)


def plan(event: object, context: object) -> dict[str, Any]:
    """Fan-out step 1: the (account, region) items; refused accounts and regions go to plan.json."""
    _event(event, "plan")
    settings = settings_from_env()
    run_id = default_output_dir().name
    scope = resolve_scope(settings.options)
    items = [{"run_id": run_id, "account": account.id, "region": region} for account, region in scope.regions]
    _put_json(
        _s3(settings),
        settings.bucket,
        settings.run_prefix(run_id) + PLAN_FILE,
        {"run_id": run_id, "items": items, "errors": _errors_json(scope.errors)},
    )
    return {"run_id": run_id, "items": items}


def audit_item(event: object, context: object) -> dict[str, Any]:
    """Fan-out step 2: read one account in one region into a part; returns a few fields only."""
    event = _event(event, "audit_item")
    settings = settings_from_env()
    run_id = _run_id(event)
    account = _event_text(event, "account", "123456789012")
    region = _event_text(event, "region", "us-east-1")
    try:
        discover.parse_accounts(account, option="event account")
        if discover.parse_regions(region, None, option="event region") != [region]:
            raise discover.UsageError(f"event region: expected one region, not {region!r}")
    except discover.UsageError as error:
        raise ValueError(str(error)) from None
    options = replace(
        settings.options,
        regions=region,
        accounts=(account,) if settings.options.role_name else (),
        organization=False,
    )
    scope = resolve_scope(options)
    records, errors = read_regions(
        scope,
        concurrency=options.concurrency,
        progress=False,
        table_timeout=options.table_timeout,
        stop_at=_stop_at(context),
    )
    key = part_key(settings, run_id, account, region)
    _put_json(
        _s3(settings),
        settings.bucket,
        key,
        {
            "account": account,
            "region": region,
            "records": [record_to_json(record) for record in records],
            "errors": _errors_json(scope.errors + errors),
        },
    )
    return {"account": account, "region": region, "tables": len(records), "part_key": key}


def merge(event: object, context: object) -> dict[str, Any]:
    """Fan-out step 3: judge every part together, as one audit would, then write and publish.

    Every planned item's part is read on its own: one that is missing, corrupt, cut short or
    of the wrong shape is that account-region's read problem, and the run is still written."""
    event = _event(event, "merge")
    settings = settings_from_env()
    run_id = _run_id(event)
    s3 = _s3(settings)
    plan_uri = f"s3://{settings.bucket}/{settings.run_prefix(run_id)}{PLAN_FILE}"
    try:
        planned = _get_json(s3, settings.bucket, settings.run_prefix(run_id) + PLAN_FILE)
        items = [(str(item["account"]), str(item["region"])) for item in planned["items"]]
        errors = _errors_from_json(planned["errors"])
    except s3.exceptions.NoSuchKey:
        raise ValueError(f"{plan_uri} is missing: no plan ran for {run_id}") from None
    except (KeyError, TypeError, ValueError) as error:  # JSON errors are ValueErrors
        raise ValueError(f"{plan_uri} is not a plan: {error_text(error)}") from None
    with ThreadPoolExecutor(max_workers=settings.options.concurrency) as pool:
        parts = list(pool.map(lambda item: _read_part(s3, settings, run_id, *item), items))
    records = [record for part_records, _ in parts for record in part_records]
    errors += [error for _, part_errors in parts for error in part_errors]
    with tempfile.TemporaryDirectory(prefix="tablesafe-drills-") as tmp:
        result = judge_records(
            records, errors, settings.config, download_drills(s3, settings.bucket, Path(tmp))
        )
    return publish_run(settings, run_id, result)


def _read_part(
    s3: Any, settings: Settings, run_id: str, account: str, region: str
) -> tuple[list[TableRecord], list[InputError]]:
    """The records and errors of one item's part; what cannot be read of it, as errors of
    that account-region (the whole part, or one record)."""
    where = f"{account}/{region}"
    try:
        part = _get_json(s3, settings.bucket, part_key(settings, run_id, account, region))
        errors = _errors_from_json(part["errors"])
        raw_records = part["records"]
        if not isinstance(raw_records, list):
            raise TypeError("records is not a list")
    except s3.exceptions.NoSuchKey:
        return [], [InputError(where, MISSING_PART)]
    except Exception as error:  # whatever the part holds, only this account-region is lost
        return [], [InputError(where, f"its audit result cannot be read: {error_text(error)}")]
    records = []
    for index, data in enumerate(raw_records):
        try:
            records.append(record_from_json(data))
        except Exception as error:  # one record lost, named; the others are judged
            errors.append(
                InputError(where, f"record {index} of its audit result cannot be read: {error_text(error)}")
            )
    return records, errors


# --- writing and publishing a run ---------------------------------------------------------------


def publish_run(settings: Settings, run_id: str, result: AuditResult) -> dict[str, Any]:
    """Write the run as the CLI does (compared with the previous run in S3), upload it, and
    publish the summary when it calls for attention; returns what the handlers return."""
    s3 = _s3(settings)
    run_prefix = settings.run_prefix(run_id)
    with tempfile.TemporaryDirectory(prefix="tablesafe-") as tmp:
        previous = _download_previous_summary(s3, settings, run_id, Path(tmp) / "previous")
        output_dir = Path(tmp) / "run" / run_id
        summary = write_audit(output_dir, result, previous=previous)
        _upload_dir(s3, settings.bucket, run_prefix, output_dir, settings.options.concurrency)
    run_uri = f"s3://{settings.bucket}/{run_prefix}"
    counts = summary.counts
    return {
        "run_id": run_id,
        "run_uri": run_uri,
        "tables": counts["tables"],
        "errors": counts["errors"],
        "warnings": counts["warnings"],
        "read_problems": counts["read_problems"],
        "lost_protection": summary.lost_protection,
        "published": _notify(settings, summary, run_uri),
    }


def _notify(settings: Settings, summary: RunSummary, run_uri: str) -> bool:
    """Publish on error findings, read problems or lost protection; a clean run stays quiet."""
    counts = summary.counts
    if not settings.topic_arn or not (counts["errors"] or counts["read_problems"] or summary.lost_protection):
        return False
    subject = f"tablesafe audit: {counts['errors']} errors, {len(summary.lost_protection)} lost protection"
    if counts["read_problems"]:
        subject += f", {counts['read_problems']} read problems"
    region = settings.topic_arn.split(":")[3]
    boto3.client("sns", region_name=region).publish(
        TopicArn=settings.topic_arn,
        Subject=subject[:SUBJECT_LIMIT],
        Message=f"{summary.summary_text()}\nReport: {run_uri}report.html",
    )
    return True


def _download_previous_summary(s3: Any, settings: Settings, run_id: str, into: Path) -> Path | None:
    """The summary.json of the latest earlier run in the bucket, saved as <into>/<run>/summary.json
    so that write_run names the previous run; None for the first run."""
    listing = pages(
        s3.list_objects_v2,
        token_in="ContinuationToken",
        token_out="NextContinuationToken",
        max_pages=MAX_LIST_PAGES,
        Bucket=settings.bucket,
        Prefix=settings.prefix,
        Delimiter="/",
    )
    names = [
        entry["Prefix"][len(settings.prefix) :].rstrip("/")
        for page in listing
        for entry in page.get("CommonPrefixes", [])
    ]
    for name in previous_runs(names, run_id):
        try:
            body = s3.get_object(Bucket=settings.bucket, Key=f"{settings.prefix}{name}/{SUMMARY_FILE}")[
                "Body"
            ]
        except s3.exceptions.NoSuchKey:
            continue
        path = into / name / SUMMARY_FILE
        path.parent.mkdir(parents=True)
        path.write_bytes(body.read())
        return path
    return None


class UploadError(Exception):
    """Some objects of the run could not be uploaded: summary.json was not, so the run does
    not count as complete."""


def _upload_dir(s3: Any, bucket: str, prefix: str, directory: Path, concurrency: int) -> None:
    """Every file of the run, in parallel, then summary.json, the completion marker, alone
    and only when all the others are in place; raises UploadError otherwise."""
    marker = directory / SUMMARY_FILE
    files = sorted(path for path in directory.rglob("*") if path.is_file() and path != marker)

    def upload(path: Path) -> str | None:
        """None when uploaded, else why not."""
        try:
            s3.put_object(
                Bucket=bucket,
                Key=prefix + path.relative_to(directory).as_posix(),
                Body=path.read_bytes(),
                ContentType=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            )
        except Exception as error:  # collected: every failure is named, not only the first
            return f"{path.relative_to(directory).as_posix()}: {error_text(error)}"
        return None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        failed = [reason for reason in pool.map(upload, files) if reason is not None]
    if failed:
        raise UploadError(
            f"s3://{bucket}/{prefix}: {len(failed)} of {len(files) + 1} objects not uploaded, so "
            f"{SUMMARY_FILE} was not written and the run is incomplete; first: {failed[0]}"
        )
    reason = upload(marker)
    if reason is not None:
        raise UploadError(f"s3://{bucket}/{prefix}: the run is incomplete: {reason}")


def _s3(settings: Settings) -> Any:
    """An S3 client with a connection for every upload or download thread."""
    return boto3.client("s3", config=BotoConfig(max_pool_connections=settings.options.concurrency))


def _put_json(s3: Any, bucket: str, key: str, data: Any) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(data).encode(), ContentType=CONTENT_TYPES[".json"])


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _errors_json(errors: list[InputError]) -> list[dict[str, str]]:
    return [{"path": error.path, "problem": error.problem} for error in errors]


def _errors_from_json(data: list[dict[str, str]]) -> list[InputError]:
    return [InputError(error["path"], error["problem"]) for error in data]
