"""`tablesafe drill`: prove that a deployed table can be recreated by the route its runbook
records, compare the data, and measure the time.

A drill is a few phases, each a function over one DrillPlan (what was decided before anything
was spent) and its DrillResult (what happened), so that the command line runs them in one
process and the scheduled drill runs each as one Lambda invocation (scanner/drill_handler.py):

- prepare: read the table (DescribeTable, DescribeContinuousBackups: read-only), choose the
  route, check PITR and the bucket, estimate the cost. Nothing is paid or written yet; every
  refusal here is exit 2.
- export: ExportTableToPointInTime (DYNAMODB_JSON) of the recovery point into the drill's own
  prefix, ``<prefix>/<drill id>/``; poll DescribeExport.
- sample: read N items, spread over the export's data files, from the export itself, before
  anything else reads it (so an export altered afterwards is caught).
- rebuild: ImportTable into the scratch table ``tablesafe-drill-<drill id>`` from the blueprint
  (export-import), or RestoreTableToPointInTime of the same recovery point (pitr-restore);
  poll; tag the scratch table with the drill id and the source ARN as soon as it takes tags.
- compare: the scratch table against the blueprint and the export, never the live table.
- cleanup: always, whatever happened: delete the scratch table (only one that carries this
  drill's id) and the export objects under the drill's own prefix (unless ``keep``).

The source table is only read and exported: no call of a drill writes to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from tablesafe import __version__
from tablesafe.config import Config
from tablesafe.neutralize import text

from . import discover
from .audit import resolve_region
from .aws import (
    Account,
    Clients,
    DeadlineExceeded,
    StartError,
    answer_field,
    base_account,
    deadline,
    error_code,
    error_text,
    list_objects,
    one_line,
    pages,
)
from .blueprint import blueprint
from .drill_compare import item_differences, key_id, key_schema, request_value, schema_differences, shown_key
from .drill_results import (
    INTERRUPTED,
    MAX_DIFFERENCES,
    NOT_RECREATABLE,
    PROVEN,
    RESULT_VERSION,
    UNFINISHED,
    VERDICT_EXIT,
)
from .drill_settings import (
    DEFAULT_MAX_COST,
    DEFAULT_PREFIX,
    DEFAULT_SAMPLE,
    DEFAULT_TIMEOUT,
    EXPORT_IMPORT,
    PITR_RESTORE,
    estimate,
    prices,
    usd,
)
from .records import TableRecord, json_value
from .runbook import import_parameters

SCRATCH_PREFIX = "tablesafe-drill-"
DRILL_ID_TAG = "tablesafe:drill-id"
SOURCE_TAG = "tablesafe:drill-source"
CALL_TIMEOUT = 15.0
"""Seconds per call attempt: the drill's calls answer in milliseconds; its waits are polls."""
FIRST_POLL, MAX_POLL = 0.5, 30.0
"""Seconds between polls of an export, import or restore: doubling from FIRST_POLL to MAX_POLL."""
CLEANUP_SECONDS = 600.0
"""Time the cleanup has, after whatever ended the drill: enough to wait for a scratch table
still being created (DynamoDB refuses to delete it until then) for a few minutes."""
LEFTOVER_AGE = dt.timedelta(days=1)
"""`--cleanup` deletes scratch tables older than this: a drill running now keeps its table."""
MAX_LINE = 4 << 20
"""Bytes of one line of an export's data file: an item holds at most 400 KB, in DynamoDB JSON
with base64 for binary values."""
MAX_MANIFEST = 64 << 20
MANIFEST_SUMMARY = "manifest-summary.json"
BATCH_KEYS = 100
BATCH_ROUNDS = 8
SCAN_SEGMENTS = 8
MAX_SCAN_PAGES = 1_000_000
"""Scan pages of up to 1 MB per segment: far more than any table holds."""
SAMPLE_FILE = "tablesafe-sample.json"
"""Where the scheduled drill keeps the sample between invocations, under the drill's prefix."""
SERVICE_SIDE_ACTIONS = frozenset(
    {
        # The export writes to the bucket with the caller's permissions.
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:PutObjectAcl",
        # The import writes its log to CloudWatch Logs with the caller's permissions.
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:PutRetentionPolicy",
        # A restore needs write permissions on the table it creates.
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
    }
)
"""Actions of drill-policy.json that DynamoDB checks for the caller while it exports, imports
or restores on the caller's behalf: the drill never calls them itself."""


class DrillProblem(Exception):
    """Why a drill ended early; its message is one line, in the tool's words."""

    exit_code = 3


class CannotStart(DrillProblem):
    """Refused before anything was spent (usage, no PITR, no bucket, over budget): exit 2."""

    exit_code = 2


class RouteFailed(DrillProblem):
    """The route itself failed (an export, import or restore that FAILED, an export that cannot
    be read): the table is not recreatable as recorded, exit 1."""

    exit_code = 1


class Unfinished(DrillProblem):
    """The drill could not finish (a phase timed out, a call kept failing): exit 3."""


@dataclass(frozen=True, slots=True)
class DrillOptions:
    """What the user asked of one drill (the command line's options)."""

    table: str
    route: str | None = None
    """None: export-import, or pitr-restore for a table with local secondary indexes."""
    bucket: str | None = None
    prefix: str = DEFAULT_PREFIX
    sample: int = DEFAULT_SAMPLE
    max_cost: float = DEFAULT_MAX_COST
    yes: bool = False
    keep: bool = False
    timeout: float = DEFAULT_TIMEOUT


@dataclass(slots=True)
class DrillAws:
    """The clients of one drill: its account's, in the table's region."""

    clients: Clients
    account: Account
    region: str

    def client(self, service: str) -> Any:
        return self.clients.get(self.account, self.region, service)


def connect(
    region: str | None, profile: str | None, endpoint_url: str | None, timeout: float = DEFAULT_TIMEOUT
) -> DrillAws:
    """Resolve the region and prove the credentials; raises CannotStart."""
    try:
        region = resolve_region(region, profile)
        clients = Clients(endpoint_url=endpoint_url, table_timeout=min(timeout, CALL_TIMEOUT))
        return DrillAws(clients, base_account(profile, clients, region), region)
    except (discover.UsageError, StartError) as error:
        raise CannotStart(str(error)) from None


@dataclass(slots=True)
class DrillPlan:
    """Everything decided before the drill spends anything; JSON-serializable (the scheduled
    drill passes it from one Lambda invocation to the next)."""

    drill_id: str
    account: str
    region: str
    table: str
    table_arn: str
    route: str
    bucket: str
    prefix: str
    """The drill's own S3 prefix, ``<--prefix>/<drill id>``: nothing else writes there."""
    sample: int
    blueprint: dict[str, Any]
    recovery_point: str | None
    """ISO time of the export (and restore): the table's latest restorable time when planned."""
    table_size_bytes: int | None
    estimate_usd: float
    max_cost_usd: float
    approved: bool
    prices: dict[str, float]
    keep: bool
    started_at: str
    deadline: float
    """time.time() after which no phase goes on (--timeout)."""
    timeout: float

    @property
    def scratch(self) -> str:
        return SCRATCH_PREFIX + self.drill_id

    @property
    def scratch_arn(self) -> str:
        return self.table_arn.rsplit("/", 1)[0] + "/" + self.scratch

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DrillPlan:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


@dataclass(slots=True)
class DrillResult:
    """What happened, phase by phase; JSON-serializable like the plan."""

    phase: str = "prepare"
    phase_started: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    export_arn: str | None = None
    exported: int | None = None
    export_billed_bytes: int | None = None
    data_folder: str | None = None
    data_files: int | None = None
    import_arn: str | None = None
    processed: int | None = None
    imported: int | None = None
    import_errors: int | None = None
    restored: int | None = None
    scratch_started: bool = False
    tagged: bool = False
    sample_read: int = 0
    compared: int = 0
    equal: int = 0
    differences: list[dict[str, str]] = field(default_factory=list)
    difference_count: int = 0
    verdict: str | None = None
    problem: str | None = None
    scratch_deleted: bool | None = None
    export_removed: bool | None = None
    leftovers: list[str] = field(default_factory=list)
    finished_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DrillResult:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    def begin(self, phase: str) -> None:
        self.phase = phase
        self.phase_started[phase] = time.time()

    def end(self, phase: str) -> None:
        self.phases[phase] = round(time.time() - self.phase_started[phase], 3)

    def differ(self, kind: str, detail: str) -> None:
        """One difference; the first MAX_DIFFERENCES are kept, all are counted."""
        self.difference_count += 1
        if len(self.differences) < MAX_DIFFERENCES:
            self.differences.append({"kind": kind, "detail": detail})


def _utc(now: float | None = None) -> str:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).isoformat(
        timespec="milliseconds"
    )


# --- prepare ------------------------------------------------------------------------------------


def prepare(
    options: DrillOptions, aws: DrillAws, config: Config, *, drill_id: str | None = None
) -> DrillPlan:
    """Read the table and decide the drill; raises CannotStart for anything that stops it
    before a paid call (no table, no PITR, no usable bucket, a route that cannot work, over
    budget). Only DescribeTable, DescribeContinuousBackups and HeadBucket are called."""
    name = options.table
    if name.startswith(SCRATCH_PREFIX):
        raise CannotStart(f"{name} is the scratch table of a drill, not a table to drill")
    dynamodb = aws.client("dynamodb")
    describe = _read("DescribeTable", name, lambda: dynamodb.describe_table(TableName=name), "Table")
    status = describe.get("TableStatus")
    if status != "ACTIVE":
        raise CannotStart(f"table {name} is {text(status)}, not ACTIVE: drill it once it is")
    backups = _read(
        "DescribeContinuousBackups",
        name,
        lambda: dynamodb.describe_continuous_backups(TableName=name),
        "ContinuousBackupsDescription",
    )
    pitr = backups.get("PointInTimeRecoveryDescription") or {}
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise CannotStart(
            f"table {name} has no point-in-time recovery: both routes export and restore from it "
            "(enable it first: tablesafe rules TS001)"
        )
    arn = answer_field(describe, "TableArn", str)
    record = TableRecord(aws.account.id, aws.region, name, arn, describe=describe, continuous_backups=backups)
    bp = blueprint(record)
    lsis = [index["IndexName"] for index in bp.get("local_secondary_indexes") or []]
    route = options.route or (PITR_RESTORE if lsis else EXPORT_IMPORT)
    if route == EXPORT_IMPORT and lsis:
        raise CannotStart(
            f"table {name} has local secondary indexes ({', '.join(lsis)}), which an import cannot "
            f"create: drill it with --route {PITR_RESTORE} (its default)"
        )
    if not options.bucket:
        raise CannotStart("--bucket B is needed: both routes export the table's recovery point there")
    _check_bucket(aws, options.bucket)
    used = prices(config.drill_prices)
    size = describe.get("TableSizeBytes")
    size = size if isinstance(size, int) and not isinstance(size, bool) else None
    cost = estimate(size or 0, route, options.sample, used)
    if cost > options.max_cost and not options.yes:
        raise CannotStart(
            f"the drill of {name} would cost about {usd(cost)} ({(size or 0) / 2**30:.1f} GB by {route}), "
            f"more than the maximum of {usd(options.max_cost)} (--max-cost): raise it, or pass --yes"
        )
    latest = pitr.get("LatestRestorableDateTime")
    drill_id = drill_id or secrets.token_hex(6)
    now = time.time()
    return DrillPlan(
        drill_id=drill_id,
        account=aws.account.id,
        region=aws.region,
        table=name,
        table_arn=arn,
        route=route,
        bucket=options.bucket,
        prefix=f"{options.prefix.strip('/')}/{drill_id}" if options.prefix.strip("/") else drill_id,
        sample=options.sample,
        blueprint=bp,
        recovery_point=json_value(latest) if isinstance(latest, dt.datetime) else None,
        table_size_bytes=size,
        estimate_usd=round(cost, 4),
        max_cost_usd=options.max_cost,
        approved=options.yes,
        prices=used,
        keep=options.keep,
        started_at=_utc(now),
        deadline=now + options.timeout,
        timeout=options.timeout,
    )


def _read(api: str, name: str, call: Callable[[], Any], key: str) -> dict[str, Any]:
    try:
        return answer_field(call(), key, dict)
    except Exception as error:  # whatever the answer: one line, exit 2
        if error_code(error) in ("ResourceNotFoundException", "TableNotFoundException"):
            raise CannotStart(f"table {name} does not exist") from None
        raise CannotStart(f"table {name}: {api}: {error_text(error)}") from None


def _check_bucket(aws: DrillAws, bucket: str) -> None:
    try:
        aws.client("s3").head_bucket(Bucket=bucket)
    except Exception as error:  # whatever the answer: one line, exit 2
        code = error_code(error)
        if code in ("404", "NoSuchBucket"):
            raise CannotStart(f"bucket {bucket} does not exist") from None
        if code in ("403", "AccessDenied"):
            raise CannotStart(
                f"bucket {bucket}: access denied (the drill needs s3:ListBucket on it)"
            ) from None
        raise CannotStart(f"bucket {bucket}: HeadBucket: {error_text(error)}") from None


def leftover_tables(aws: DrillAws) -> list[str]:
    """Scratch tables of earlier drills in the region (every drill warns about them)."""
    names, _ = discover.list_tables(aws.account, aws.clients, aws.region)
    return [name for name in names if name.startswith(SCRATCH_PREFIX)]


# --- export --------------------------------------------------------------------------------------


def start_export(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> None:
    result.begin("export")
    request: dict[str, Any] = {
        "TableArn": plan.table_arn,
        "S3Bucket": plan.bucket,
        "S3Prefix": plan.prefix,
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
        "ClientToken": plan.drill_id,
    }
    if plan.recovery_point:
        request["ExportTime"] = dt.datetime.fromisoformat(plan.recovery_point)
    answer = aws.client("dynamodb").export_table_to_point_in_time(**request)
    result.export_arn = answer_field(answer_field(answer, "ExportDescription", dict), "ExportArn", str)


def poll_export(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> bool:
    """True once the export is complete; raises RouteFailed when it failed."""
    _check_time(plan, result)
    answer = aws.client("dynamodb").describe_export(ExportArn=result.export_arn)
    export = answer_field(answer, "ExportDescription", dict)
    status = export.get("ExportStatus")
    if status == "IN_PROGRESS":
        return False
    if status != "COMPLETED":
        raise RouteFailed(f"the export {_failure(status, export)}")
    result.exported = _count(export, "ItemCount")
    result.export_billed_bytes = _count(export, "BilledSizeBytes")
    result.end("export")
    return True


def _failure(status: Any, answer: Mapping[str, Any]) -> str:
    code, message = answer.get("FailureCode"), answer.get("FailureMessage")
    reason = ": ".join(str(part) for part in (code, message) if part) or "no reason given"
    return f"{one_line(status, 40)}: {one_line(reason)}"


def _count(answer: Mapping[str, Any], key: str) -> int | None:
    value = answer.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_time(plan: DrillPlan, result: DrillResult) -> None:
    if time.time() > plan.deadline:
        raise Unfinished(f"the {result.phase} did not finish within the drill's time ({plan.timeout:g} s)")


# --- sample ----------------------------------------------------------------------------------------


def data_files(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> list[tuple[str, int | None]]:
    """The export's data files (S3 key, item count when its manifest says it); sets
    result.data_folder, the folder the import reads. The export's folder is the one folder
    under ``<drill prefix>/AWSDynamoDB/`` (the prefix is the drill's own: it holds this export
    only). Its files are those manifest-summary.json and manifest-files.json name, as
    documented; where an endpoint writes no manifests (moto), those of its data/ folder."""
    s3 = aws.client("s3")
    own = plan.prefix + "/"
    folders = [
        entry["Prefix"]
        for page in list_objects(s3, plan.bucket, own + "AWSDynamoDB/", Delimiter="/")
        for entry in page.get("CommonPrefixes", [])
    ]
    if len(folders) != 1:
        raise RouteFailed(f"s3://{plan.bucket}/{own}AWSDynamoDB/ holds {len(folders)} export folders, not 1")
    try:
        summary: Mapping[str, Any] | None = _json_object(s3, plan.bucket, folders[0] + MANIFEST_SUMMARY)
    except botocore.exceptions.ClientError as error:
        if error_code(error) != "NoSuchKey":
            raise
        summary = None
    if summary is None:
        files: list[tuple[str, int | None]] = [
            (entry["Key"], None)
            for page in list_objects(s3, plan.bucket, folders[0] + "data/")
            for entry in page.get("Contents", [])
        ]
    else:
        listing = str(summary.get("manifestFilesS3Key") or folders[0] + "manifest-files.json")
        files = _manifest_files(_get(s3, plan.bucket, listing, MAX_MANIFEST), f"s3://{plan.bucket}/{listing}")
    if not files and result.exported:
        raise RouteFailed(f"the export of {result.exported} items has no data files")
    data_folders = {key.rsplit("/", 1)[0] + "/" for key, _ in files}
    if len(data_folders) > 1 or any(not key.startswith(own) for key, _ in files):
        raise RouteFailed("the export's data files are not in one folder under the drill's prefix")
    result.data_folder = next(iter(data_folders), folders[0] + "data/")
    result.data_files = len(files)
    return files


def _manifest_files(listing: bytes, where: str) -> list[tuple[str, int | None]]:
    """manifest-files.json: one JSON object a line, naming a data file and its item count."""
    files = []
    for number, line in enumerate(listing.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            files.append((str(entry["dataFileS3Key"]), _count(entry, "itemCount")))
        except (ValueError, KeyError, TypeError):
            raise RouteFailed(f"{where}: line {number} names no data file") from None
    return files


def _get(s3: Any, bucket: str, key: str, limit: int) -> bytes:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    data = body.read(limit + 1)
    body.close()
    if len(data) > limit:
        raise RouteFailed(f"s3://{bucket}/{key} is larger than {limit:,} bytes")
    return data


def _json_object(s3: Any, bucket: str, key: str) -> Mapping[str, Any]:
    try:
        data = json.loads(_get(s3, bucket, key, MAX_MANIFEST))
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        raise RouteFailed(f"s3://{bucket}/{key} is not a JSON object")
    return data


def _quotas(files: Sequence[tuple[str, int | None]], wanted: int) -> list[tuple[str, int | None, int]]:
    """(key, item count, items to take) spread over the files: every file when there are at
    most `wanted`, with shares by item count when known; else `wanted` files evenly spaced."""
    if wanted <= 0 or not files:
        return []
    if len(files) > wanted:
        step = len(files) / wanted
        return [(*files[int((index + 0.5) * step)], 1) for index in range(wanted)]
    counts = [count for _, count in files]
    if all(count is not None for count in counts) and sum(counts):  # type: ignore[arg-type]
        total = sum(counts)  # type: ignore[arg-type]
        shares = [max(1, round(wanted * count / total)) if count else 0 for count in counts]  # type: ignore[operator]
    else:
        shares = [wanted // len(files) + (index < wanted % len(files)) for index in range(len(files))]
    return [(key, count, share) for (key, count), share in zip(files, shares, strict=True) if share]


def read_sample(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> list[dict[str, Any]]:
    """Up to plan.sample items read from the export's data files (DynamoDB JSON), spread over
    the files and within each file (evenly by position when its item count is known, else a
    reservoir sample seeded by the drill id)."""
    files = data_files(aws, plan, result)
    s3 = aws.client("s3")
    sample: list[dict[str, Any]] = []
    for key, count, share in _quotas(files, plan.sample):
        sample += _sample_file(s3, plan, key, count, share)
        _check_time(plan, result)
    result.sample_read = len(sample)
    return sample


def _sample_file(s3: Any, plan: DrillPlan, key: str, count: int | None, share: int) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=plan.bucket, Key=key)["Body"]
    where = f"s3://{plan.bucket}/{key}"
    taken: list[dict[str, Any]] = []
    rng = random.Random(f"{plan.drill_id}/{key}")
    wanted = sorted({int((index + 0.5) * count / share) for index in range(share)}) if count else []
    try:
        with gzip.GzipFile(fileobj=body) as stream:
            for number, item in enumerate(_items(stream, where)):
                if count:
                    if number == wanted[len(taken)]:
                        taken.append(item)
                        if len(taken) == len(wanted):
                            break
                elif len(taken) < share:
                    taken.append(item)
                elif (slot := rng.randrange(number + 1)) < share:
                    taken[slot] = item
    except (OSError, EOFError) as error:  # gzip's own errors: a damaged file
        raise RouteFailed(f"{where}: not a gzip file: {error_text(error)}") from None
    finally:
        body.close()
    return taken


def _items(stream: Any, where: str) -> Iterator[dict[str, Any]]:
    """The items of a data file, one JSON object {"Item": {...}} a line."""
    for number in range(1, 1 << 62):
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise RouteFailed(f"{where}: line {number} is longer than {MAX_LINE:,} bytes")
        if not line.strip():
            continue
        try:
            item = json.loads(line)["Item"]
        except (ValueError, KeyError, TypeError):
            raise RouteFailed(f"{where}: line {number} is not an item in DynamoDB JSON") from None
        if not isinstance(item, dict):
            raise RouteFailed(f"{where}: line {number} is not an item in DynamoDB JSON")
        yield item


# --- rebuild: import or restore into the scratch table -------------------------------------------


def start_rebuild(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> None:
    dynamodb = aws.client("dynamodb")
    if plan.route == EXPORT_IMPORT:
        result.begin("import")
        parameters = {**import_parameters(plan.blueprint), "TableName": plan.scratch}
        answer = dynamodb.import_table(
            S3BucketSource={"S3Bucket": plan.bucket, "S3KeyPrefix": result.data_folder},
            InputFormat="DYNAMODB_JSON",
            InputCompressionType="GZIP",
            TableCreationParameters=parameters,
            ClientToken=plan.drill_id,
        )
        result.scratch_started = True
        description = answer_field(answer, "ImportTableDescription", dict)
        result.import_arn = answer_field(description, "ImportArn", str)
        return
    result.begin("restore")
    request: dict[str, Any] = {
        # The name, not the ARN: both are documented, and moto takes only the name.
        "SourceTableName": plan.table,
        "TargetTableName": plan.scratch,
        # Billed per request, so that counting the restored table is never throttled by a
        # small provisioned capacity (billing is a setting the runbook re-applies).
        "BillingModeOverride": "PAY_PER_REQUEST",
    }
    if plan.recovery_point:
        request["RestoreDateTime"] = dt.datetime.fromisoformat(plan.recovery_point)
    else:
        request["UseLatestRestorableTime"] = True
    dynamodb.restore_table_to_point_in_time(**request)
    result.scratch_started = True


def poll_rebuild(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> bool:
    """True once the scratch table holds the data; raises RouteFailed when the import failed."""
    _check_time(plan, result)
    dynamodb = aws.client("dynamodb")
    if plan.route == EXPORT_IMPORT:
        answer = dynamodb.describe_import(ImportArn=result.import_arn)
        description = answer_field(answer, "ImportTableDescription", dict)
        status = description.get("ImportStatus")
        result.processed = _count(description, "ProcessedItemCount")
        result.imported = _count(description, "ImportedItemCount")
        result.import_errors = _count(description, "ErrorCount")
        if status in ("IN_PROGRESS", "CANCELLING"):
            _tag(aws, plan, result, required=False)
            return False
        if status != "COMPLETED":
            raise RouteFailed(f"the import {_failure(status, description)}")
    else:
        try:
            table = answer_field(dynamodb.describe_table(TableName=plan.scratch), "Table", dict)
        except botocore.exceptions.ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False  # a restore's table appears a moment after the call
            raise
        restoring = (table.get("RestoreSummary") or {}).get("RestoreInProgress")
        if table.get("TableStatus") != "ACTIVE" or restoring:
            _tag(aws, plan, result, required=False)
            return False
    _tag(aws, plan, result, required=True)
    result.end(result.phase)
    return True


def _tag(aws: DrillAws, plan: DrillPlan, result: DrillResult, *, required: bool) -> None:
    """Tag the scratch table with the drill id and the source ARN, as soon as it takes tags
    (a table still being created may refuse them: then the next poll tries again)."""
    if result.tagged:
        return
    try:
        aws.client("dynamodb").tag_resource(
            ResourceArn=plan.scratch_arn,
            Tags=[
                {"Key": DRILL_ID_TAG, "Value": plan.drill_id},
                {"Key": SOURCE_TAG, "Value": plan.table_arn},
            ],
        )
    except botocore.exceptions.ClientError as error:
        if required or error_code(error) not in ("ResourceInUseException", "ResourceNotFoundException"):
            raise
        return
    result.tagged = True


# --- compare -------------------------------------------------------------------------------------


def compare(aws: DrillAws, plan: DrillPlan, result: DrillResult, sample: Sequence[Mapping[str, Any]]) -> None:
    """The scratch table against what cannot have changed since the recovery point: its keys,
    attribute definitions, indexes and settings against the blueprint; the import's counts
    (or a count of the restored table) against the export's; the sample, read from the
    export before the rebuild, against the same items fetched from the scratch table by key."""
    result.begin("compare")
    dynamodb = aws.client("dynamodb")
    scratch = answer_field(dynamodb.describe_table(TableName=plan.scratch), "Table", dict)
    for detail in schema_differences(plan.blueprint, scratch, plan.route):
        result.differ("schema", detail)
    exported = result.exported
    if plan.route == EXPORT_IMPORT:
        for name, value in (("processed", result.processed), ("imported", result.imported)):
            if value != exported:
                result.differ("count", f"the import {name} {value} items; the export holds {exported}")
        if result.import_errors:
            result.differ("count", f"the import reported {result.import_errors} errors (in CloudWatch Logs)")
    else:
        result.restored = _count_items(aws, plan)
        if result.restored != exported:
            result.differ(
                "count", f"the restored table holds {result.restored} items; the export holds {exported}"
            )
    _compare_sample(aws, plan, result, sample)
    result.end("compare")


def _count_items(aws: DrillAws, plan: DrillPlan) -> int:
    """Items of the restored scratch table: a parallel Scan with Select=COUNT (reads capacity
    of the drill's own table only)."""
    dynamodb = aws.client("dynamodb")
    at = time.monotonic() + max(plan.deadline - time.time(), 0)
    stop = threading.Event()
    reason = f"counting the restored table did not finish within the drill's time ({plan.timeout:g} s)"

    def segment(number: int) -> int:
        request: dict[str, Any] = {
            "TableName": plan.scratch,
            "Select": "COUNT",
            "Segment": number,
            "TotalSegments": SCAN_SEGMENTS,
        }
        total = 0
        with deadline(at, reason):
            for _ in range(MAX_SCAN_PAGES):
                if stop.is_set():
                    raise Unfinished("counting the restored table was stopped")
                page = dynamodb.scan(**request)
                total += _count(page, "Count") or 0
                if not page.get("LastEvaluatedKey"):
                    return total
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        raise Unfinished(f"counting the restored table: more than {MAX_SCAN_PAGES:,} pages")

    pool = ThreadPoolExecutor(max_workers=SCAN_SEGMENTS, thread_name_prefix="tablesafe-count")
    try:
        return sum(pool.map(segment, range(SCAN_SEGMENTS)))
    finally:  # interrupted or failed: the other segments stop at their next page
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _compare_sample(
    aws: DrillAws, plan: DrillPlan, result: DrillResult, sample: Sequence[Mapping[str, Any]]
) -> None:
    key_names = [name for name, _ in key_schema(plan.blueprint["key_schema"])]
    wanted: dict[str, tuple[dict[str, Any], Mapping[str, Any]]] = {}
    for item in sample:
        try:
            key = {name: request_value(item[name]) for name in key_names}
        except (KeyError, TypeError, ValueError):
            result.differ("item", f"an exported item has no valid key ({', '.join(key_names)})")
            continue
        wanted[key_id(key, key_names)] = (key, item)
    found = _batch_get(aws, plan, [key for key, _ in wanted.values()], key_names)
    for identity, (_, item) in wanted.items():
        result.compared += 1
        differences = item_differences(item, found.get(identity))
        if differences:
            shown = shown_key(item, key_names)
            for difference in differences:
                result.differ("item", f"item {shown}: {difference}")
        else:
            result.equal += 1


def _batch_get(
    aws: DrillAws, plan: DrillPlan, keys: Sequence[dict[str, Any]], names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The scratch table's items by key (strongly consistent), keyed like _key_id."""
    dynamodb = aws.client("dynamodb")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), BATCH_KEYS):
        pending = list(keys[start : start + BATCH_KEYS])
        for round_number in range(BATCH_ROUNDS):
            answer = dynamodb.batch_get_item(
                RequestItems={plan.scratch: {"Keys": pending, "ConsistentRead": True}}
            )
            for item in (answer.get("Responses") or {}).get(plan.scratch, []):
                found[key_id(item, names)] = item
            pending = ((answer.get("UnprocessedKeys") or {}).get(plan.scratch) or {}).get("Keys") or []
            if not pending:
                break
            time.sleep(min(0.1 * 2**round_number, 5.0))
        else:
            raise Unfinished(f"BatchGetItem left {len(pending)} keys unprocessed after {BATCH_ROUNDS} rounds")
    return found


# --- cleanup -------------------------------------------------------------------------------------


def cleanup(aws: DrillAws, plan: DrillPlan, result: DrillResult) -> None:
    """Delete what the drill made: its scratch table, and the export objects under its own
    prefix (unless plan.keep). What cannot be deleted goes to result.leftovers, named; this
    never raises, so the result is always written."""
    with deadline(time.monotonic() + CLEANUP_SECONDS, "the cleanup ran out of time"):
        if result.scratch_started:
            try:
                result.scratch_deleted = delete_scratch(aws, plan)
            except Exception as error:  # whatever went wrong, the table is named
                result.scratch_deleted = False
                result.leftovers.append(
                    f"scratch table {plan.scratch} in {plan.region} was not deleted: {error_text(error)}"
                )
        if not plan.keep:
            try:
                remove_export(aws, plan)
                result.export_removed = True
            except Exception as error:  # whatever went wrong, the objects are named
                result.export_removed = False
                where = f"s3://{plan.bucket}/{plan.prefix}/"
                result.leftovers.append(f"export objects under {where} were not deleted: {error_text(error)}")


def delete_scratch(aws: DrillAws, plan: DrillPlan) -> bool:
    """Delete this drill's scratch table: only the table named for this drill id, whose drill
    tag (once it has one) says the same; waits while it is being created. True when it is gone."""
    dynamodb = aws.client("dynamodb")
    for _ in range(int(CLEANUP_SECONDS / MAX_POLL) + 2):
        try:
            table = answer_field(dynamodb.describe_table(TableName=plan.scratch), "Table", dict)
        except botocore.exceptions.ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return True
            raise
        tags = {tag["Key"]: tag["Value"] for tag in _tags(dynamodb, plan.scratch_arn)}
        if tags.get(DRILL_ID_TAG, plan.drill_id) != plan.drill_id:
            raise Unfinished(
                f"it carries drill id {text(tags[DRILL_ID_TAG])}, not {plan.drill_id}: left alone"
            )
        if table.get("DeletionProtectionEnabled") is True:
            raise Unfinished("deletion protection is on (someone turned it on): left alone")
        if table.get("TableStatus") == "DELETING":
            return True
        if table.get("TableStatus") == "ACTIVE":
            try:
                dynamodb.delete_table(TableName=plan.scratch)
                return True
            except botocore.exceptions.ClientError as error:
                if error_code(error) != "ResourceInUseException":
                    raise
        time.sleep(MAX_POLL)
    raise Unfinished("it is still being created (DynamoDB deletes a table only once it is ACTIVE)")


def _tags(dynamodb: Any, arn: str) -> list[dict[str, str]]:
    tags = []
    for page in pages(
        dynamodb.list_tags_of_resource,
        token_in="NextToken",
        token_out="NextToken",
        max_pages=100,
        ResourceArn=arn,
    ):
        tags += [tag for tag in answer_field(page, "Tags", list) if isinstance(tag, Mapping)]
    return tags


def remove_export(aws: DrillAws, plan: DrillPlan) -> None:
    """Delete every object under the drill's own prefix (the export, the scheduled drill's sample)."""
    s3 = aws.client("s3")
    own = plan.prefix + "/"
    for page in list_objects(s3, plan.bucket, own):
        keys = [
            entry["Key"] for entry in page.get("Contents", []) if str(entry.get("Key", "")).startswith(own)
        ]
        if not keys:
            continue
        answer = s3.delete_objects(
            Bucket=plan.bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
        errors = answer.get("Errors") or []
        if errors:
            raise Unfinished(
                f"{len(errors)} objects not deleted, first {errors[0].get('Key')}: {errors[0].get('Code')}"
            )


def cleanup_leftovers(aws: DrillAws, now: dt.datetime | None = None) -> tuple[list[str], list[str]]:
    """`drill --cleanup`: delete the scratch tables older than a day that carry a drill tag
    naming them (tablesafe-drill-<id> tagged tablesafe:drill-id=<id>), and nothing else.
    Returns (lines about each scratch table seen, problems)."""
    now = now or dt.datetime.now(dt.UTC)
    dynamodb = aws.client("dynamodb")
    names, listing_problem = discover.list_tables(aws.account, aws.clients, aws.region)
    lines: list[str] = []
    problems = [f"ListTables: {listing_problem}"] if listing_problem else []
    for name in names:
        if not name.startswith(SCRATCH_PREFIX):
            continue
        try:
            table = answer_field(dynamodb.describe_table(TableName=name), "Table", dict)
            tags = {tag["Key"]: tag["Value"] for tag in _tags(dynamodb, answer_field(table, "TableArn", str))}
            created = table.get("CreationDateTime")
            reason = None
            if tags.get(DRILL_ID_TAG) != name.removeprefix(SCRATCH_PREFIX):
                reason = f"it carries no {DRILL_ID_TAG} tag naming it: not a drill's table"
            elif not isinstance(created, dt.datetime) or now - created < LEFTOVER_AGE:
                reason = "less than a day old: a drill may be using it"
            elif table.get("DeletionProtectionEnabled") is True:
                reason = "deletion protection is on: someone turned it on"
            elif table.get("TableStatus") != "ACTIVE":
                reason = f"it is {text(table.get('TableStatus'))}"
            if reason:
                lines.append(f"left {name}: {reason}")
                continue
            dynamodb.delete_table(TableName=name)
            lines.append(f"deleted {name} (drill of {text(tags.get(SOURCE_TAG, 'an unknown table'))})")
        except Exception as error:  # whatever the answer, the other tables are still looked at
            problems.append(f"{name}: {error_text(error)}")
    return lines, problems


# --- the whole drill, and its result ---------------------------------------------------------------


def wait(poll: Callable[[], bool], *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll until done, FIRST_POLL seconds apart at first, doubling to MAX_POLL (each poll
    checks the drill's time)."""
    interval = FIRST_POLL
    while not poll():
        sleep(interval)
        interval = min(interval * 2, MAX_POLL)


def run_phases(aws: DrillAws, plan: DrillPlan, result: DrillResult, say: Callable[[str], None]) -> None:
    """Every phase but cleanup, in one process (the command line)."""
    at = time.monotonic() + max(plan.deadline - time.time(), 0)
    with deadline(at, f"the drill did not finish within its time ({plan.timeout:g} s)"):
        say(f"exporting {plan.table} to s3://{plan.bucket}/{plan.prefix}/")
        start_export(aws, plan, result)
        wait(lambda: poll_export(aws, plan, result))
        sample = read_sample(aws, plan, result)
        say(f"{'importing into' if plan.route == EXPORT_IMPORT else 'restoring into'} {plan.scratch}")
        start_rebuild(aws, plan, result)
        wait(lambda: poll_rebuild(aws, plan, result))
        say(f"comparing {plan.scratch} with the blueprint and {len(sample)} exported items")
        compare(aws, plan, result, sample)


def conclude(result: DrillResult, error: BaseException | None) -> None:
    """The verdict: proven, not recreatable (a difference, or the route failed), unfinished
    (a phase timed out or a call kept failing), or interrupted."""
    if isinstance(error, KeyboardInterrupt):
        result.verdict, result.problem = INTERRUPTED, f"interrupted during the {result.phase}"
    elif isinstance(error, RouteFailed):
        result.verdict, result.problem = NOT_RECREATABLE, one_line(error)
    elif isinstance(error, DrillProblem | DeadlineExceeded):
        result.verdict, result.problem = UNFINISHED, one_line(error)
    elif error is not None:
        result.verdict = UNFINISHED
        result.problem = f"the {result.phase} could not finish: {error_text(error)}"
    elif result.difference_count:
        result.verdict = NOT_RECREATABLE
        count = result.difference_count
        result.problem = f"{count} difference{'s' * (count != 1)}: {result.differences[0]['detail']}"
    else:
        result.verdict = PROVEN


def recovery_seconds(plan: DrillPlan, result: DrillResult) -> float | None:
    """The measured recovery time: export and import (the runbook's route), or the restore."""
    phases = ("export", "import") if plan.route == EXPORT_IMPORT else ("restore",)
    if not all(phase in result.phases for phase in phases):
        return None
    return round(sum(result.phases[phase] for phase in phases), 3)


def result_json(plan: DrillPlan, result: DrillResult) -> dict[str, Any]:
    """The drill's result file (see scanner/drill_results.py for where it goes)."""
    verdict = result.verdict or UNFINISHED
    started = dt.datetime.fromisoformat(plan.started_at)
    finished = dt.datetime.fromisoformat(result.finished_at) if result.finished_at else started
    return {
        "tool": "tablesafe",
        "version": __version__,
        "result_version": RESULT_VERSION,
        "drill_id": plan.drill_id,
        "table": {"account": plan.account, "region": plan.region, "name": plan.table, "arn": plan.table_arn},
        "route": plan.route,
        "verdict": verdict,
        "exit_code": VERDICT_EXIT[verdict],
        "problem": result.problem,
        "differences": result.differences,
        "difference_count": result.difference_count,
        "started_at": plan.started_at,
        "finished_at": result.finished_at,
        "recovery_point": plan.recovery_point,
        "phases": {phase: result.phases.get(phase) for phase in ("export", "import", "restore", "compare")},
        "recovery_seconds": recovery_seconds(plan, result),
        "total_seconds": round((finished - started).total_seconds(), 3),
        "counts": {
            "exported": result.exported,
            "processed": result.processed,
            "imported": result.imported,
            "import_errors": result.import_errors,
            "restored": result.restored,
        },
        "sample": {
            "requested": plan.sample,
            "read": result.sample_read,
            "compared": result.compared,
            "equal": result.equal,
            "data_files": result.data_files,
        },
        "size": {
            "table_size_bytes": plan.table_size_bytes,
            "export_billed_bytes": result.export_billed_bytes,
        },
        "cost": {
            "estimate_usd": plan.estimate_usd,
            "max_cost_usd": plan.max_cost_usd,
            "approved_over_budget": plan.approved and plan.estimate_usd > plan.max_cost_usd,
            "prices": plan.prices,
        },
        "scratch_table": {
            "name": plan.scratch,
            "created": result.scratch_started,
            "deleted": result.scratch_deleted,
        },
        "export": {
            "bucket": plan.bucket,
            "prefix": plan.prefix + "/",
            "arn": result.export_arn,
            "kept": plan.keep,
            "removed": result.export_removed,
        },
        "leftovers": result.leftovers,
    }


def finish(
    aws: DrillAws, plan: DrillPlan, result: DrillResult, error: BaseException | None
) -> dict[str, Any]:
    """Conclude, clean up (a second interrupt during it leaves the rest named) and return the
    result file's content."""
    conclude(result, error)
    try:
        cleanup(aws, plan, result)
    except KeyboardInterrupt:
        result.verdict, result.problem = INTERRUPTED, "interrupted during the cleanup"
        if result.scratch_started and not result.scratch_deleted:
            result.leftovers.append(
                f"scratch table {plan.scratch} in {plan.region} may remain (cleanup interrupted)"
            )
        if not plan.keep and not result.export_removed:
            result.leftovers.append(f"export objects under s3://{plan.bucket}/{plan.prefix}/ may remain")
    result.finished_at = _utc()
    return result_json(plan, result)


def drill(aws: DrillAws, plan: DrillPlan, say: Callable[[str], None]) -> dict[str, Any]:
    """Run every phase, then always the cleanup; the result file's content."""
    result = DrillResult()
    error: BaseException | None = None
    try:
        run_phases(aws, plan, result, say)
    except (Exception, KeyboardInterrupt) as caught:  # any failure is the result's, never a traceback
        error = caught
    if isinstance(error, KeyboardInterrupt):
        say(f"interrupted during the {result.phase}: cleaning up")
    return finish(aws, plan, result, error)
