"""`tablesafe drill` against a real moto server over HTTP, through the recording, fault-injecting
proxy (tests/aws_proxy.py): proven drills of 10,000 items by both routes, the differences it
finds, every failure ending in one line and the right exit code with nothing left behind,
Ctrl-C in each phase, the calls against the drill policy, `drill --cleanup`, and the audit
reading the results (report, summary.json, runbook, TS008)."""

from __future__ import annotations

import datetime as dt
import fnmatch
import gzip
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import FAKE_CREDENTIALS, REPO_ROOT, _cli_env, load_helper, reset_moto

from tablesafe.scanner.drill import SERVICE_SIDE_ACTIONS, _quotas
from tablesafe.scanner.drill_compare import item_differences, key_id
from tablesafe.scanner.drill_results import read_history, summary_text, write_result

aws_proxy = load_helper("aws_proxy.py")
helpers = load_helper("audit_helpers.py")
tables = load_helper("drill_helpers.py")
ACCOUNT, HOME = helpers.ACCOUNT, helpers.HOME
BUCKET = "drill-bucket"
PREFIX = "tablesafe-drills/"
POLICY = json.loads((REPO_ROOT / "scanner" / "drill-policy.json").read_text())
RunCli = Callable[..., subprocess.CompletedProcess[str]]
S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "GetObject": "s3:GetObject",
    "DeleteObjects": "s3:DeleteObject",
}
"""The S3 operations a drill calls, and the IAM action each needs."""
SOURCE_READS = {
    "DescribeTable",
    "DescribeContinuousBackups",
    "ExportTableToPointInTime",
    "RestoreTableToPointInTime",
}


@pytest.fixture
def aws(aws: Any, moto_server: str) -> Any:
    """conftest's clean account behind a clean proxy, with the export bucket."""
    helpers.client(moto_server, "s3").create_bucket(Bucket=BUCKET)
    return aws


@dataclass
class Drilled:
    process: subprocess.CompletedProcess[str]
    result: dict[str, Any] | None
    calls: list[Any]


def drill(run_cli: RunCli, proxy: Any, out: Path, table: str, *args: str) -> Drilled:
    """`tablesafe drill TABLE` through the proxy; the process, its result file and the calls."""
    process = run_cli(
        "drill", table, "--endpoint-url", proxy.url, "--region", HOME, "--bucket", BUCKET,
        "--output-dir", out, *args, env=FAKE_CREDENTIALS,
    )  # fmt: skip
    files = sorted(out.rglob("*.json"))
    assert "Traceback" not in process.stderr, process.stderr
    return Drilled(process, json.loads(files[-1].read_text()) if files else None, list(proxy.calls))


def left_behind(url: str) -> tuple[list[str], list[str]]:
    """Scratch tables and export objects that remain (read from moto directly)."""
    names = helpers.client(url, "dynamodb").list_tables()["TableNames"]
    listed = helpers.client(url, "s3").list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
    return [n for n in names if n.startswith("tablesafe-drill-")], [
        o["Key"] for o in listed.get("Contents", [])
    ]


def small_table(url: str, name: str = "orders", count: int = 20, **options: Any) -> None:
    dynamodb = helpers.client(url, "dynamodb")
    tables.create_table(dynamodb, name, **options)
    tables.seed(dynamodb, name, count, threads=1)


# --- 10,000 items of every type, by both routes (one drill each, shared) ------------------------

ROUTES = ("export-import", "pitr-restore")


@pytest.fixture(scope="module")
def big(
    moto_server: str, proxy: Any, run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A table with two GSIs (one with a binary key) and 10,000 items of every attribute type,
    drilled once by each route."""
    reset_moto(moto_server)
    dynamodb = helpers.client(moto_server, "dynamodb")
    tables.create_table(dynamodb, "ledger")
    tables.seed(dynamodb, "ledger", 10_000)
    helpers.client(moto_server, "s3").create_bucket(Bucket=BUCKET)
    drills: dict[str, Any] = {}
    for route in ROUTES:
        proxy.reset()
        out = tmp_path_factory.mktemp(route)
        drills[route] = (
            drill(run_cli, proxy, out, "ledger", "--route", route),
            left_behind(moto_server),
            out,
        )
    return drills


@pytest.mark.parametrize("route", ROUTES)
def test_a_drill_proves_10000_items_of_every_type(big: dict[str, Any], route: str) -> None:
    drilled, left, out = big[route]
    assert drilled.process.returncode == 0, drilled.process.stdout + drilled.process.stderr
    result = drilled.result
    assert result["verdict"] == "proven" and result["differences"] == [] and result["problem"] is None
    assert result["counts"]["exported"] == 10_000
    if route == "export-import":
        assert (
            result["counts"]["processed"],
            result["counts"]["imported"],
            result["counts"]["import_errors"],
        ) == (
            10_000,
            10_000,
            0,
        )
    else:
        assert result["counts"]["restored"] == 10_000
    assert result["sample"] | {"data_files": None} == {
        "requested": 1000, "read": 1000, "compared": 1000, "equal": 1000, "data_files": None,
    }  # fmt: skip
    phases = result["phases"]
    rebuild = "import" if route == "export-import" else "restore"
    assert all(phases[p] is not None and phases[p] >= 0 for p in ("export", rebuild, "compare"))
    assert result["recovery_seconds"] == pytest.approx(
        phases["export"] + phases["import"] if route == "export-import" else phases["restore"], abs=0.01
    )
    assert result["scratch_table"]["deleted"] is True and result["export"]["removed"] is True
    assert left == ([], [])
    (path,) = out.rglob("*.json")
    assert re.fullmatch(
        rf"{ACCOUNT}/{HOME}/ledger/\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json", path.relative_to(out).as_posix()
    )
    stdout = drilled.process.stdout
    assert f"ledger ({ACCOUNT}/{HOME}) is proven recreatable by {route}" in stdout
    assert "1,000 of 1,000 sampled items equal" in stdout


def test_the_source_table_is_only_read_and_exported(big: dict[str, Any]) -> None:
    for route in ROUTES:
        calls = big[route][0].calls
        on_source = {call.operation for call in calls if call.table == "ledger"}
        assert on_source <= SOURCE_READS, on_source
        writes = [
            c
            for c in calls
            if c.operation in ("ImportTable", "TagResource", "DeleteTable", "BatchGetItem", "Scan")
        ]
        assert writes and all(c.table.startswith("tablesafe-drill-") for c in writes), writes


def _actions(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def _resources(statement: dict[str, Any]) -> list[str]:
    return [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]


def test_the_drill_policy_is_the_calls_and_deletes_only_scratch_tables(big: dict[str, Any]) -> None:
    """Every action the drills called is in the policy, and every action of the policy was
    called, but those DynamoDB checks while it works for the caller (SERVICE_SIDE_ACTIONS);
    each table call is allowed on its own table's ARN; DeleteTable only on scratch tables."""
    calls = [call for route in ROUTES for call in big[route][0].calls]
    called = {S3_ACTIONS[c.operation] if c.service == "s3" else f"{c.service}:{c.operation}" for c in calls}
    in_policy = {action for statement in POLICY["Statement"] for action in _actions(statement)}
    assert called | SERVICE_SIDE_ACTIONS == in_policy, (called | SERVICE_SIDE_ACTIONS) ^ in_policy
    assert not called & SERVICE_SIDE_ACTIONS
    for call in calls:
        if (
            call.service != "dynamodb"
            or not call.table
            or call.operation in ("DescribeExport", "DescribeImport")
        ):
            continue
        arn = f"arn:aws:dynamodb:{HOME}:{ACCOUNT}:table/{call.table}"
        allowed = [
            statement
            for statement in POLICY["Statement"]
            if f"dynamodb:{call.operation}" in _actions(statement)
            and any(fnmatch.fnmatchcase(arn, resource) for resource in _resources(statement))
        ]
        assert allowed, (call.operation, arn)
    (delete,) = [s for s in POLICY["Statement"] if "dynamodb:DeleteTable" in _actions(s)]
    assert _resources(delete) == ["arn:aws:dynamodb:*:*:table/tablesafe-drill-*"]
    assert not fnmatch.fnmatchcase(f"arn:aws:dynamodb:{HOME}:{ACCOUNT}:table/ledger", _resources(delete)[0])


# --- differences: exit 1, each named -------------------------------------------------------------


def _wait_for(proxy: Any, operation: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not any(call.operation == operation for call in proxy.calls):
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate()
            pytest.fail(f"{operation} was never called:\n{out}\n{err}")
        time.sleep(0.02)


def _popen_drill(proxy: Any, out: Path, table: str, *args: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "tablesafe", "drill", table, "--endpoint-url", proxy.url, "--region", HOME,
        "--bucket", BUCKET, "--output-dir", str(out), *args,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=out.parent,
        env={**_cli_env(), **FAKE_CREDENTIALS},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_exported_item_altered_before_the_import_is_named(
    moto_server: str, aws: Any, tmp_path: Path
) -> None:
    """The sample is read from the export before the import: an item changed in S3 in between
    (a damaged or tampered export) comes back from the scratch table otherwise."""
    small_table(moto_server)
    aws.faults.append(aws_proxy.Fault("ImportTable", "stall", seconds=30, times=1))
    process = _popen_drill(aws, tmp_path / "drills", "orders")
    _wait_for(aws, "ImportTable", process)
    s3 = helpers.client(moto_server, "s3")
    (key,) = [
        o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"] if "/data/" in o["Key"]
    ]
    lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode().splitlines()
    altered = [json.loads(line) for line in lines if line.strip()]
    target = next(entry["Item"] for entry in altered if entry["Item"]["sk"] == {"N": "7"})
    target["amount"] = {"N": "42"}
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress("\n".join(map(json.dumps, altered)).encode()))
    aws.released.set()  # the import goes on, from the altered export
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stdout + stderr
    result = json.loads(next((tmp_path / "drills").rglob("*.json")).read_text())
    assert result["verdict"] == "not-recreatable"
    assert [d["detail"] for d in result["differences"]] == [
        f'item {{pk: {{"S": "customer-0007"}}, sk: {{"N": "7"}}}}: attribute amount: export '
        f'{{"N": "{10**37 + 7 * 7919}"}}, scratch table {{"N": "42"}}'
    ]
    assert result["sample"]["equal"] == 19
    assert "is NOT recreatable as recorded (export-import)" in stdout
    assert "attribute amount: export" in stdout
    assert left_behind(moto_server) == ([], [])


def test_a_gsi_missing_from_the_scratch_table_is_named(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    small_table(moto_server)

    def without_gsi(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeTable" and (call.table or "").startswith("tablesafe-drill-"):
            answer["Table"]["GlobalSecondaryIndexes"] = [
                index for index in answer["Table"]["GlobalSecondaryIndexes"] if index["IndexName"] != "byCode"
            ]

    aws.rewrites.append(without_gsi)
    drilled = drill(run_cli, aws, tmp_path / "drills", "orders")
    assert drilled.process.returncode == 1
    assert drilled.result["differences"] == [
        {"kind": "schema", "detail": "GSI byCode is missing from the scratch table"}
    ]
    assert "GSI byCode is missing from the scratch table" in drilled.process.stdout
    assert left_behind(moto_server) == ([], [])


def _manifests(url: str, *, parts: int, outside: bool = False) -> Any:
    """A rewrite of the completed DescribeExport that lays the export out as AWS documents it
    (moto writes one data file and no manifests): the data split into parts files, with
    manifest-summary.json and manifest-files.json (listing a key outside the prefix if asked)."""
    s3 = helpers.client(url, "s3")

    def rewrite(call: Any, answer: dict[str, Any]) -> None:
        if call.operation != "DescribeExport" or answer["ExportDescription"]["ExportStatus"] != "COMPLETED":
            return
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]
        if any(o["Key"].endswith("manifest-summary.json") for o in listed):
            return
        (key,) = [o["Key"] for o in listed if "/data/" in o["Key"]]
        folder = key.split("data/")[0]
        lines = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode().splitlines()
        s3.delete_object(Bucket=BUCKET, Key=key)
        entries = []
        for part in range(parts):
            chunk = lines[part::parts]
            data_key = f"{folder}data/part-{part}.json.gz"
            s3.put_object(Bucket=BUCKET, Key=data_key, Body=gzip.compress("\n".join(chunk).encode()))
            entries.append({"itemCount": len(chunk), "dataFileS3Key": data_key})
        if outside:
            entries[0]["dataFileS3Key"] = "elsewhere/data/part-0.json.gz"
        files_key = f"{folder}manifest-files.json"
        s3.put_object(Bucket=BUCKET, Key=files_key, Body="\n".join(map(json.dumps, entries)).encode())
        summary = {"itemCount": len(lines), "manifestFilesS3Key": files_key, "outputFormat": "DYNAMODB_JSON"}
        s3.put_object(Bucket=BUCKET, Key=f"{folder}manifest-summary.json", Body=json.dumps(summary).encode())

    return rewrite


def test_an_export_laid_out_with_manifests_is_sampled_from_every_data_file(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    small_table(moto_server, count=30)
    aws.rewrites.append(_manifests(moto_server, parts=3))
    drilled = drill(run_cli, aws, tmp_path / "drills", "orders", "--sample", "9")
    assert drilled.process.returncode == 0, drilled.process.stdout + drilled.process.stderr
    assert drilled.result["sample"] == {"requested": 9, "read": 9, "compared": 9, "equal": 9, "data_files": 3}
    assert drilled.result["counts"]["imported"] == 30
    assert left_behind(moto_server) == ([], [])

    aws.reset()
    aws.rewrites.append(_manifests(moto_server, parts=2, outside=True))
    refused = drill(run_cli, aws, tmp_path / "refused", "orders")
    assert refused.process.returncode == 1
    assert (
        refused.result["problem"] == "the export's data files are not in one folder under the drill's prefix"
    )
    assert left_behind(moto_server) == ([], [])


# --- what goes wrong: one line, the right exit code, nothing left behind -----------------------


def _set(operation: str, **fields: Any) -> Any:
    """A rewrite of the export's or import's description (DescribeExport, DescribeImport)."""
    key = {"DescribeExport": "ExportDescription", "DescribeImport": "ImportTableDescription"}[operation]

    def rewrite(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == operation:
            answer[key].update(fields)

    return rewrite


def _size(size: int) -> Any:
    def rewrite(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeTable" and call.table == "orders":
            answer["Table"]["TableSizeBytes"] = size

    return rewrite


FAULTS = {
    "export FAILED": (
        [_set("DescribeExport", ExportStatus="FAILED", FailureCode="S3AccessDenied",
              FailureMessage="Access Denied")],
        [], (), 1, "the export FAILED: S3AccessDenied: Access Denied",
    ),
    "import FAILED": (
        [_set("DescribeImport", ImportStatus="FAILED", FailureCode="InvalidInput",
              FailureMessage="bad line 3")],
        [], (), 1, "the import FAILED: InvalidInput: bad line 3",
    ),
    "import with errors": (
        [_set("DescribeImport", ImportedItemCount=18, ErrorCount=2)],
        [], (), 1, "2 differences: the import imported 18 items; the export holds 20",
    ),
    "throttled polls and reads, retried": (
        [],
        [aws_proxy.Fault("DescribeExport", "throttle", times=2),
         aws_proxy.Fault("BatchGetItem", "throttle", times=2)],
        (), 0, None,
    ),
    "throttled import polls, without end": (
        [], [aws_proxy.Fault("DescribeImport", "throttle")], (), 3,
        "the import could not finish: ThrottlingException: Rate exceeded",
    ),
    "a stalled export poll": (
        [], [aws_proxy.Fault("DescribeExport", "stall", seconds=60)], ("--timeout", "3"), 3,
        "the drill did not finish within its time (3 s)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", FAULTS, ids=list(FAULTS))
def test_a_failed_or_stalled_phase_is_named_and_cleaned_up(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path, case: str
) -> None:
    rewrites, faults, args, code, why = FAULTS[case]
    small_table(moto_server)
    aws.rewrites.extend(rewrites)
    aws.faults.extend(faults)
    started = time.monotonic()
    drilled = drill(run_cli, aws, tmp_path / "drills", "orders", *args)
    assert time.monotonic() - started < 45
    assert drilled.process.returncode == code, drilled.process.stdout + drilled.process.stderr
    assert drilled.result["problem"] == why
    if why:
        assert f"  why             {why}" in drilled.process.stdout.splitlines()
    assert left_behind(moto_server) == ([], [])
    assert not [line for line in drilled.process.stderr.splitlines() if not line.startswith("tablesafe: ")]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("bucket", ("--bucket", "no-such-bucket"), "bucket no-such-bucket does not exist"),
        ("no PITR", (), "has no point-in-time recovery: both routes export and restore from it "
         "(enable it first: tablesafe rules TS001)"),
        ("50 GB", (), "the drill of orders would cost about USD 12.50 (50.0 GB by export-import), more than "
         "the maximum of USD 1.00 (--max-cost): raise it, or pass --yes"),
        ("LSI", ("--route", "export-import"), "table orders has local secondary indexes (byPlaced), which an "
         "import cannot create: drill it with --route pitr-restore (its default)"),
        ("none", ("--sample", "-1"),
         "argument --sample: expected a whole number from 0 to 100,000, not '-1'"),
    ],
)  # fmt: skip
def test_a_drill_that_cannot_start_spends_nothing(
    run_cli: RunCli,
    moto_server: str,
    aws: Any,
    tmp_path: Path,
    setup: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    small_table(moto_server, pitr=setup != "no PITR", lsi=setup == "LSI")
    if setup == "50 GB":
        aws.rewrites.append(_size(50 << 30))
    drilled = drill(run_cli, aws, tmp_path / "drills", "orders", *args)
    assert drilled.process.returncode == 2
    (line,) = drilled.process.stderr.splitlines()
    assert line.startswith("tablesafe: error: ") and message in line, line
    paid = {"ExportTableToPointInTime", "ImportTable", "RestoreTableToPointInTime"}
    assert not [call for call in drilled.calls if call.operation in paid]
    assert drilled.result is None and left_behind(moto_server) == ([], [])


def test_over_budget_goes_on_with_yes_and_says_so(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    small_table(moto_server)
    aws.rewrites.append(_size(50 << 30))
    drilled = drill(run_cli, aws, tmp_path / "drills", "orders", "--yes")
    assert drilled.process.returncode == 0, drilled.process.stderr
    assert drilled.result["cost"] | {"prices": None} == {
        "estimate_usd": 12.5001, "max_cost_usd": 1.0, "approved_over_budget": True, "prices": None,
    }  # fmt: skip
    assert drilled.result["size"]["table_size_bytes"] == 50 << 30


def test_the_default_route_of_a_table_with_lsis_restores_and_compares_them(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    small_table(moto_server, lsi=True)
    drilled = drill(run_cli, aws, tmp_path / "drills", "orders")
    assert drilled.process.returncode == 0, drilled.process.stdout + drilled.process.stderr
    assert drilled.result["route"] == "pitr-restore" and drilled.result["counts"]["restored"] == 20
    assert {"RestoreTableToPointInTime", "Scan"} <= {call.operation for call in drilled.calls}


def test_usage_is_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    for args, message in (
        (("drill",), "tablesafe: error: drill: name a TABLE, or pass --cleanup (without one)"),
        (
            ("drill", "t", "--cleanup"),
            "tablesafe: error: drill: name a TABLE, or pass --cleanup (without one)",
        ),
        (("drill", "tablesafe-drill-x", "--region", HOME, "--endpoint-url", "http://127.0.0.1:9"), None),
    ):
        done = run_cli(*args, cwd=tmp_path, env=FAKE_CREDENTIALS)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
        assert message is None or done.stderr.strip() == message
    blocked = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['boto3'] = None\nfrom tablesafe.cli import main\n"
         "sys.exit(main(['drill', 'orders', '--bucket', 'b']))"],
        capture_output=True, text=True, env=_cli_env(), cwd=tmp_path, check=False,
    )  # fmt: skip
    assert blocked.returncode == 2
    assert blocked.stderr == (
        "tablesafe: error: drill needs the aws extra (boto3 not installed): pip install 'tablesafe[aws]'\n"
    )


# --- Ctrl-C in each phase ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "route", "operation"),
    [
        ("export", "export-import", "DescribeExport"),
        ("import", "export-import", "DescribeImport"),
        ("restore", "pitr-restore", "TagResource"),
        ("compare", "export-import", "BatchGetItem"),
    ],
)
def test_sigint_in_each_phase_deletes_the_scratch_table(
    moto_server: str, aws: Any, tmp_path: Path, phase: str, route: str, operation: str
) -> None:
    small_table(moto_server)
    aws.faults.append(aws_proxy.Fault(operation, "stall", seconds=30, times=1))
    process = _popen_drill(aws, tmp_path / "drills", "orders", "--route", route)
    _wait_for(aws, operation, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 130, stdout + stderr
    assert f"interrupted during the {phase}: cleaning up" in stderr
    result = json.loads(next((tmp_path / "drills").rglob("*.json")).read_text())
    assert (result["verdict"], result["problem"]) == ("interrupted", f"interrupted during the {phase}")
    assert left_behind(moto_server) == ([], [])


# --- drill --cleanup ---------------------------------------------------------------------------


def test_cleanup_deletes_only_old_tagged_scratch_tables(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    dynamodb = helpers.client(moto_server, "dynamodb")
    tags = {
        "tablesafe-drill-0a1b2c3d4e5f": "0a1b2c3d4e5f",  # old, its own id: deleted
        "tablesafe-drill-x": None,  # old, untagged: not a drill's table
        "tablesafe-drill-5f4e3d2c1b0a": "other",  # old, another id
        "tablesafe-drill-a0b1c2d3e4f5": "a0b1c2d3e4f5",  # young: a drill may be running
        "orders": "0a1b2c3d4e5f",  # not a scratch table at all
    }
    for name, drill_id in tags.items():
        extra = {"Tags": [{"Key": "tablesafe:drill-id", "Value": drill_id}]} if drill_id else {}
        dynamodb.create_table(TableName=name, **helpers.KEY, **extra)
    old = time.time() - 3 * 86400

    def created_long_ago(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeTable" and call.table != "tablesafe-drill-a0b1c2d3e4f5":
            answer["Table"]["CreationDateTime"] = old

    aws.rewrites.append(created_long_ago)
    not_a_drills = "it carries no tablesafe:drill-id tag naming it: not a drill's table"
    done = run_cli("drill", "--cleanup", "--endpoint-url", aws.url, "--region", HOME, env=FAKE_CREDENTIALS)
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == [
        "deleted tablesafe-drill-0a1b2c3d4e5f (drill of an unknown table)",
        f"left tablesafe-drill-5f4e3d2c1b0a: {not_a_drills}",
        "left tablesafe-drill-a0b1c2d3e4f5: less than a day old: a drill may be using it",
        f"left tablesafe-drill-x: {not_a_drills}",
    ]
    assert [c.table for c in aws.calls if c.operation == "DeleteTable"] == ["tablesafe-drill-0a1b2c3d4e5f"]
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(
        set(tags) - {"tablesafe-drill-0a1b2c3d4e5f"}
    )

    small_table(moto_server, "ledger")
    warned = drill(run_cli, aws, tmp_path / "drills", "ledger")
    assert warned.process.returncode == 0, warned.process.stderr
    assert "tablesafe: warning: 3 scratch tables of earlier drills remain (" in warned.process.stderr


# --- results the audit reads -----------------------------------------------------------------------


def test_the_audit_shows_each_tables_last_drill_and_ts008_judges_it(
    run_cli: RunCli, moto_server: str, aws: Any, tmp_path: Path
) -> None:
    for name in ("orders", "ledger", "stale", "fresh"):
        helpers.create_table(moto_server, name)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    drills = tmp_path / "drills"
    write_result(drills, tables.result("orders", now - dt.timedelta(days=2)))
    write_result(drills, tables.result("ledger", now - dt.timedelta(days=10)))
    failed = tables.result("ledger", now - dt.timedelta(days=1), "not-recreatable", recovery_seconds=None)
    write_result(drills, failed)
    write_result(drills, tables.result("stale", now - dt.timedelta(days=60)))
    damaged = drills / ACCOUNT / HOME / "fresh" / "2026-01-01T00-00-00Z.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text("{")
    (tmp_path / ".tablesafe.yaml").write_text("rules: {TS008: {enabled: true}}\ndrill: {max_age_days: 30}\n")

    def audit(*args: str) -> tuple[Any, dict[str, Any]]:
        done = run_cli(
            "audit", "--endpoint-url", aws.url, "--regions", HOME, "--output-dir", tmp_path / "run",
            "--format", "json", *args, cwd=tmp_path, env=FAKE_CREDENTIALS,
        )  # fmt: skip
        return done, json.loads(done.stdout)

    done, report = audit("--drills", str(drills))
    assert done.returncode == 3, done.stderr  # the damaged result is a read problem
    assert [(e["path"], e["problem"].split(":")[0]) for e in report["errors"]] == [
        (str(damaged), "not a readable drill result")
    ]
    ts008 = {f["table_name"]: f["message"] for f in report["findings"] if f["rule_id"] == "TS008"}
    assert set(ts008) == {"fresh", "stale"}
    assert ts008["fresh"].startswith("No restore drill has proven that this table can be recreated")
    stale_day = (now - dt.timedelta(days=60)).date().isoformat()
    assert f"The last successful restore drill was on {stale_day}, 60 days ago" in ts008["stale"]

    run = tmp_path / "run"
    entries = {t["name"]: t for t in json.loads((run / "summary.json").read_text())["tables"]}
    orders_day = (now - dt.timedelta(days=2)).date().isoformat()
    line = f"last proven: {orders_day}, 14 min, 120,000 items, 1,000 sampled equal"
    assert entries["orders"]["drill"]["line"] == line
    assert entries["ledger"]["drill"]["last"]["verdict"] == "not-recreatable"
    assert (
        entries["ledger"]["drill"]["last_proven"]["date"] == (now - dt.timedelta(days=10)).date().isoformat()
    )
    assert entries["fresh"]["drill"] == {"last": None, "last_proven": None, "line": "never drilled"}
    html = (run / "report.html").read_text()
    assert '<th class="drill">Last drill</th>' in html
    assert f'<td class="pass" title="{line}">{orders_day} · proven · 14 min</td>' in html
    ledger_day = (now - dt.timedelta(days=1)).date().isoformat()
    assert f"{ledger_day} · not-recreatable · unknown (last proven " in html
    runbook = (run / entries["orders"]["runbook_page"]).read_text()
    assert f"<td>{line}</td>" in runbook

    done, report = audit()  # no drill results: TS008 cannot prove anything, no drill column
    assert done.returncode == 0, done.stderr  # TS008 warns
    assert {f["message"] for f in report["findings"] if f["rule_id"] == "TS008"} == {
        "Its recreation cannot be proven: no drill results were read (tablesafe audit --drills DIR)."
    }
    assert "Last drill" not in (run / "report.html").read_text()
    assert "drill" not in json.loads((run / "summary.json").read_text())["tables"][0]

    (tmp_path / ".tablesafe.yaml").unlink()  # TS008 is opt-in
    done, report = audit("--drills", str(drills))
    assert not [f for f in report["findings"] if f["rule_id"] == "TS008"]

    missing = run_cli("audit", "--drills", str(tmp_path / "nowhere"), cwd=tmp_path, env=FAKE_CREDENTIALS)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"tablesafe: error: --drills: {tmp_path / 'nowhere'} is not a directory")


# --- pure parts ------------------------------------------------------------------------------------


def test_items_are_compared_as_dynamodb_values() -> None:
    exported = {
        "n": {"N": "1.50"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "b": {"B": "AAH/"},
        "ss": {"SS": ["x", "y"]},
        "m": {"M": {"l": {"L": [{"N": "1"}, {"BS": ["AQ=="]}]}}},
    }
    fetched = {
        "n": {"N": "1.5"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "b": {"B": b"\x00\x01\xff"},
        "ss": {"SS": ["y", "x"]},
        "m": {"M": {"l": {"L": [{"N": "1.0"}, {"BS": [b"\x01"]}]}}},
    }
    assert item_differences(exported, fetched) == []
    assert item_differences(exported, None) == ["missing from the scratch table"]
    changed = {**fetched, "big": {"N": "12345678901234567890123456789012345679"}, "extra": {"BOOL": True}}
    del changed["ss"]
    assert item_differences(exported, changed) == [
        'attribute big: export {"N": "12345678901234567890123456789012345678"}, '
        'scratch table {"N": "12345678901234567890123456789012345679"}',
        'attribute extra is not in the export (scratch table: {"BOOL": true})',
        'attribute ss is missing from the scratch table (export: {"SS": ["x", "y"]})',
    ]
    order = {**fetched, "m": {"M": {"l": {"L": [{"BS": [b"\x01"]}, {"N": "1"}]}}}}
    assert [d.split(":")[0] for d in item_differences(exported, order)] == ["attribute m"]  # lists keep order
    assert key_id({"k": {"N": "10"}, "b": {"B": "AAE="}}, ["k", "b"]) == key_id(
        {"k": {"N": "1E+1"}, "b": {"B": b"\x00\x01"}}, ["k", "b"]
    )


def test_the_sample_is_spread_over_the_data_files() -> None:
    files = [(f"data/{index}.json.gz", 100) for index in range(10)]
    assert [share for _, _, share in _quotas(files, 1000)] == [100] * 10
    few = _quotas(files, 3)
    assert [key for key, _, _ in few] == ["data/1.json.gz", "data/5.json.gz", "data/8.json.gz"]
    unknown = _quotas([(f"data/{i}.gz", None) for i in range(3)], 10)
    assert [share for _, _, share in unknown] == [4, 3, 3]
    assert _quotas(files, 0) == []


def test_a_result_is_read_only_when_it_is_a_result_of_that_table(tmp_path: Path) -> None:
    now = dt.datetime(2026, 12, 7, 14, tzinfo=dt.UTC)
    write_result(tmp_path, tables.result("orders", now - dt.timedelta(days=3)))
    write_result(tmp_path, tables.result("orders", now - dt.timedelta(days=1), "unfinished"))
    folder = tmp_path / ACCOUNT / HOME / "orders"
    (folder / "2026-12-07T13-00-00Z.json").write_text(json.dumps(tables.result("ledger", now)))
    (folder / "2026-12-07T13-30-00Z.json").write_text("x" * (2 << 20))
    (folder / "notes.txt").write_text("not a result")
    history, problems = read_history(tmp_path, ACCOUNT, HOME, "orders")
    assert [(Path(p.path).name, p.problem) for p in problems] == [
        ("2026-12-07T13-30-00Z.json", "not a readable drill result: larger than 1,048,576 bytes"),
        ("2026-12-07T13-00-00Z.json", "not a readable drill result: a result of another table, 'ledger'"),
    ]  # fmt: skip
    assert history is not None and history.last["verdict"] == "unfinished"
    assert history.proven_day == dt.date(2026, 12, 4)
    assert read_history(tmp_path, ACCOUNT, HOME, "never") == (None, [])


def test_the_summary_neutralizes_what_came_from_aws() -> None:
    started = dt.datetime(2026, 12, 7, 14, tzinfo=dt.UTC)
    hostile = tables.result(
        "orders\x1b[31m", started, "not-recreatable", problem="1 differences: item {pk: \x1b[2J}",
        differences=[{"kind": "item", "detail": "item {pk: \x1b[2J}\nline"}], difference_count=1,
    )  # fmt: skip
    text = summary_text(hostile, "drills/x.json")
    assert "\x1b" not in text and "\\x1b[31m" in text
    assert "  - item {pk: \\x1b[2J}\\nline" in text.splitlines()
