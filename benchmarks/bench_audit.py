"""Benchmark `tablesafe audit` against Prowler's DynamoDB checks on a local moto server.

Run it with the project's venv (it needs boto3 and moto: `pip install -e '.[demo]'`):

    .venv/bin/python benchmarks/bench_audit.py [--tables 1000] [--runs 3] [--prowler-runs 1]

1. Starts a moto server on 127.0.0.1 seeded with 1,000 DynamoDB tables in us-east-1 (a
   seeded mix: PITR on/off and recovery periods, deletion protection, tags, TTL, streams,
   GSIs and LSIs, SSE, table classes, provisioned billing, 400 tables owned by 10
   CloudFormation stacks), then times, interleaved, after one untimed warm-up of tablesafe:
   - `tablesafe audit --endpoint-url URL --regions us-east-1 --output-dir DIR --format json
     --output FILE` (which also writes a blueprint and a runbook for every table);
   - `prowler aws --service dynamodb -f us-east-1` with AWS_ENDPOINT_URL=URL, from its own
     venv (.venv-prowler, created by scripts/prowler-venv.sh).
   Target: tablesafe's median at least 5x faster than Prowler's.
2. Seeds 300 tables into a second moto server behind tests/aws_proxy.py, which answers
   ThrottlingException beyond 10 requests per second of DescribeContinuousBackups and of
   ListTagsOfResource, and times one `tablesafe audit` through it. Floor: 300 / 10 = 30 s;
   target: within 1.15x of it, with no read errors.

Both tools get fake credentials only. Exit status: 0 when every target passes, 1 when one
fails, 2 when a tool cannot be run or its output cannot be read.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import random
import shutil
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from _common import (  # benchmarks/ is sys.path[0] when run as a script
    OUT,
    BenchError,
    Run,
    Series,
    fmt_series,
    load_test_helper,
    print_table,
    run_measured,
    tablesafe_command,
    tablesafe_counts,
    venv_tool,
    verdict,
)

REGION = "us-east-1"
TARGET_RATIO = 5.0
THROTTLE_TABLES = 300
THROTTLE_RATE = 10.0
"""Requests per second the proxy allows for each of THROTTLED_OPERATIONS (documented limits)."""
THROTTLED_OPERATIONS = ("DescribeContinuousBackups", "ListTagsOfResource")
TARGET_FLOOR_FACTOR = 1.15
STACKS, TABLES_PER_STACK = 10, 40
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": REGION,
}
"""The tools must never reach, or be able to reach, a real account."""
CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE")
FAMILIES = ("orders", "customers", "sessions", "carts", "invoices", "events", "profiles", "audit-log")
Row = tuple[str, str, str, str]
"""measurement, value, target, status"""
PROWLER_TABLE_CHECKS = ("dynamodb_tables_pitr_enabled", "dynamodb_table_deletion_protection_enabled")
"""Prowler checks that report on every table: each must have one finding per table."""


def machine_load() -> str:
    """The 1-minute load average against the cores: figures on a busy machine say so."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    note = " (busy: other processes compete for the cores)" if load > cores else ""
    return f"load average {load:.1f} on {cores} cores{note}"


# --- the local AWS -----------------------------------------------------------------------


def require_aws_libraries() -> None:
    """boto3 and moto are needed in this interpreter (to seed the server)."""
    missing = [name for name in ("boto3", "moto") if importlib.util.find_spec(name) is None]
    if missing:
        raise BenchError(
            f"{', '.join(missing)} not installed here: run with .venv/bin/python after "
            "pip install -e '.[demo]' (or make bench-audit)"
        )


def use_fake_credentials() -> dict[str, str]:
    """Put fake credentials in this process's environment; return the tools' environment."""
    for name in CLEARED:
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)
    return dict(os.environ)


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port), in threads of this process; yields its URL.

    The tools under test run as child processes, so the server's threads compete with
    nothing but seeding (done before timing) and the proxy of the rate-limit run. Its
    backends are this process's moto state: one server per process, emptied by reset_moto.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_moto(url: str) -> None:
    """Forget every resource of the moto server (its documented reset endpoint)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()


WARM_CALLS = (
    ("sts", "get_caller_identity", {}),
    ("cloudformation", "describe_stacks", {}),
    ("ec2", "describe_regions", {}),
    ("iam", "list_account_aliases", {}),
    ("organizations", "describe_organization", {}),
    ("backup", "list_backup_plans", {}),
    ("dax", "describe_clusters", {}),
    ("application-autoscaling", "describe_scalable_targets", {"ServiceNamespace": "dynamodb"}),
)
"""One cheap call per moto backend that either tool uses (DynamoDB is warm from seeding)."""


def warm_moto(url: str) -> None:
    """Make moto load its backends before timing: moto imports a service's code on the first
    request, and CloudFormation's pulls in most of moto (2.4 s here), holding the GIL of this
    process, which also runs the rate-limiting proxy. AWS has no such first-call cost."""
    import boto3
    import botocore.exceptions

    for service, operation, kwargs in WARM_CALLS:
        client = boto3.client(service, region_name=REGION, endpoint_url=url)
        # An error answer (e.g. no organization) has loaded the backend all the same.
        with contextlib.suppress(botocore.exceptions.ClientError):
            getattr(client, operation)(**kwargs)


def _table_spec(rng: random.Random, name: str) -> dict[str, Any]:
    """create_table arguments of one table in the mix."""
    attributes = {"pk": "S"}
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if rng.random() < 0.5:
        attributes["sk"] = "S"
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
    provisioned = rng.random() < 0.25
    throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
        "DeletionProtectionEnabled": rng.random() < 0.5,
    }
    if provisioned:
        spec["ProvisionedThroughput"] = throughput
    gsis = []
    for n in range(rng.choice((0, 0, 0, 1, 1, 2))):
        attributes[f"gsi{n}pk"] = "S"
        gsi: dict[str, Any] = {
            "IndexName": f"by-gsi{n}",
            "KeySchema": [{"AttributeName": f"gsi{n}pk", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": rng.choice(("ALL", "KEYS_ONLY"))},
        }
        if provisioned:
            gsi["ProvisionedThroughput"] = throughput
        gsis.append(gsi)
    if gsis:
        spec["GlobalSecondaryIndexes"] = gsis
    if "sk" in attributes and rng.random() < 0.1:
        attributes["createdAt"] = "S"
        spec["LocalSecondaryIndexes"] = [
            {
                "IndexName": "by-created-at",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    spec["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in attributes.items()]
    if rng.random() < 0.2:
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if rng.random() < 0.15:
        spec["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    if rng.random() < 0.1:
        spec["TableClass"] = "STANDARD_INFREQUENT_ACCESS"
    tags = [
        {"Key": key, "Value": value}
        for key, value in (
            ("team", rng.choice(("checkout", "identity", "search", "billing"))),
            ("env", rng.choice(("prod", "staging", "dev"))),
            ("cost-center", f"cc-{rng.randrange(1000, 1100)}"),
        )
        if rng.random() < 0.7
    ]
    if tags:
        spec["Tags"] = tags
    return spec


def _stack_template(names: list[str], rng: random.Random) -> tuple[str, dict[str, str]]:
    """A CDK-like template owning the tables; returns it and table name -> logical ID."""
    resources: dict[str, Any] = {}
    logical_ids = {}
    for name in names:
        logical_id = "".join(part.title() for part in name.split("-")) + "Table"
        policy = rng.choice(("Retain", "Retain", "Delete"))
        resources[logical_id] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Metadata": {"aws:cdk:path": f"Stack/{name}/Resource"},
            "Properties": {
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "DeletionProtectionEnabled": rng.random() < 0.7,
            },
        }
        logical_ids[name] = logical_id
    return json.dumps({"Resources": resources}), logical_ids


def seed_tables(url: str, count: int, *, stacks: int, per_stack: int, seed: int = 5) -> Counter[str]:
    """Create `count` tables in REGION, `stacks * per_stack` of them through CloudFormation,
    with PITR and TTL set afterwards; returns how many tables have each property."""
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=16, retries={"mode": "standard"})
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=url, config=config)
    cloudformation = boto3.client("cloudformation", region_name=REGION, endpoint_url=url, config=config)
    rng = random.Random(seed)
    names = [f"{FAMILIES[i % len(FAMILIES)]}-{i:04d}" for i in range(count)]
    owned = min(count, stacks * per_stack)
    groups = [names[i : i + per_stack] for i in range(0, owned, per_stack)]
    specs = [_table_spec(rng, name) for name in names[owned:]]
    templates = [(f"Service{n:02d}Stack", *_stack_template(group, rng)) for n, group in enumerate(groups)]
    settings = {
        name: (rng.random() < 0.6, rng.choice((35, 35, 35, 14, 7, 3)), rng.random() < 0.25) for name in names
    }
    stats: Counter[str] = Counter(tables=count, stack_owned=owned)

    def create_stack(stack: tuple[str, str, dict[str, str]]) -> None:
        stack_name, body, logical_ids = stack
        stack_id = cloudformation.create_stack(StackName=stack_name, TemplateBody=body)["StackId"]
        for name, logical_id in logical_ids.items():  # moto's CloudFormation adds no tags
            dynamodb.tag_resource(
                ResourceArn=f"arn:aws:dynamodb:{REGION}:123456789012:table/{name}",
                Tags=[
                    {"Key": "aws:cloudformation:stack-name", "Value": stack_name},
                    {"Key": "aws:cloudformation:logical-id", "Value": logical_id},
                    {"Key": "aws:cloudformation:stack-id", "Value": stack_id},
                ],
            )

    def configure(name: str) -> None:
        pitr, days, ttl = settings[name]
        if pitr:
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": True,
                    "RecoveryPeriodInDays": days,
                },
            )
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create_stack, templates))
        list(pool.map(lambda spec: dynamodb.create_table(**spec), specs))
        list(pool.map(configure, names))
    for spec in specs:
        stats["deletion_protection"] += spec["DeletionProtectionEnabled"]
        stats["gsi"] += "GlobalSecondaryIndexes" in spec
        stats["lsi"] += "LocalSecondaryIndexes" in spec
        stats["streams"] += "StreamSpecification" in spec
        stats["sse_kms"] += "SSESpecification" in spec
        stats["provisioned"] += spec["BillingMode"] == "PROVISIONED"
    for _, body, _ in templates:
        resources = json.loads(body)["Resources"].values()
        stats["deletion_protection"] += sum(r["Properties"]["DeletionProtectionEnabled"] for r in resources)
    for pitr, _, ttl in settings.values():
        stats["pitr"] += pitr
        stats["ttl"] += ttl
    listed = sum(len(page["TableNames"]) for page in dynamodb.get_paginator("list_tables").paginate())
    if listed != count:
        raise BenchError(f"seeding: moto lists {listed} tables, expected {count}")
    warm_moto(url)
    return stats


# --- the tools ---------------------------------------------------------------------------


def ts_audit_cmd(base: list[str], url: str, output_dir: Path, report: Path) -> list[str]:
    """The tablesafe audit invocation that is timed."""
    return [
        *base,
        "audit",
        "--endpoint-url",
        url,
        "--regions",
        REGION,
        "--output-dir",
        str(output_dir),
        "--format",
        "json",
        "--output",
        str(report),
    ]


def run_tablesafe(base: list[str], env: dict[str, str], url: str, work: Path) -> tuple[Run, dict[str, Any]]:
    """One audit into a fresh `work` folder (no previous run to compare with); its counts."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    output_dir, report = work / "run", work / "report.json"
    run = run_measured(ts_audit_cmd(base, url, output_dir, report), env, cwd=work)
    if run.returncode not in (0, 1):  # 1: findings; 3 (partial) or 2 (cannot start) are failures
        raise BenchError(f"tablesafe audit exited {run.returncode}:\n{run.stderr[-2000:]}")
    counts = tablesafe_counts(report)
    tables_dir = output_dir / "tables"
    counts["blueprints"] = sum(1 for _ in tables_dir.rglob("*.json"))
    counts["runbooks"] = sum(1 for _ in tables_dir.rglob("*.md"))
    return run, counts


def prowler_cmd(prowler: str, output_dir: Path) -> list[str]:
    """The Prowler invocation that is timed: DynamoDB checks, one region, no prompts.

    -z: exit 0 rather than 3 when checks fail (3 is Prowler's "findings" code);
    -M json-ocsf: one machine-readable output (the compliance CSVs are written as always).
    """
    return [
        prowler,
        "aws",
        "--service",
        "dynamodb",
        "-f",
        REGION,
        "--no-banner",
        "--no-color",
        "-M",
        "json-ocsf",
        "-o",
        str(output_dir),
        "-F",
        "prowler",
        "-z",
    ]


def run_prowler(prowler: str, env: dict[str, str], work: Path) -> tuple[Run, dict[str, Any]]:
    """One Prowler scan into a fresh `work` folder; findings per check from its OCSF JSON."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    output_dir = work / "output"
    run = run_measured(prowler_cmd(prowler, output_dir), env, cwd=work)
    if run.returncode != 0:
        raise BenchError(f"prowler exited {run.returncode}:\n{run.stderr[-2000:]}")
    return run, prowler_counts(output_dir / "prowler.ocsf.json", run.stderr)


def prowler_counts(report: Path, stderr: str) -> dict[str, Any]:
    """PASS/FAIL per check and tables per check, from Prowler's OCSF findings."""
    try:
        findings = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read Prowler's output {report}: {exc}\n{stderr[-2000:]}") from exc
    status: dict[str, Counter[str]] = {}
    resources: dict[str, set[str]] = {}
    for finding in findings:
        check = finding["metadata"]["event_code"]
        status.setdefault(check, Counter())[finding["status_code"]] += 1
        resources.setdefault(check, set()).update(r.get("uid", "") for r in finding.get("resources", []))
    return {
        "findings": len(findings),
        "by_check": {check: dict(sorted(status[check].items())) for check in sorted(status)},
        "resources": {check: len(uids) for check, uids in resources.items()},
        "version": findings[0]["metadata"]["product"]["version"] if findings else "?",
        "errors": sum(1 for line in stderr.splitlines() if " ERROR" in line or "Error" in line),
    }


# --- the measurements --------------------------------------------------------------------


def compare_with_prowler(args: argparse.Namespace, url: str, env: dict[str, str], rows: list[Row]) -> None:
    """Part 1: tablesafe and Prowler on the same seeded moto server."""
    ts_base, ts_env = tablesafe_command()
    ts_env = {**ts_env, **FAKE_CREDENTIALS}
    prowler = venv_tool("prowler-venv.sh", "prowler", "about 7 min") if not args.skip_prowler else ""
    work = OUT / "audit-1k"
    reset_moto(url)
    start = time.perf_counter()
    stats = seed_tables(url, args.tables, stacks=STACKS, per_stack=TABLES_PER_STACK)
    print(f"seeded {url} in {time.perf_counter() - start:.1f} s: {dict(stats)}", flush=True)
    print(f"tablesafe: {' '.join(ts_audit_cmd(ts_base, url, work / 'run', work / 'report.json'))}")
    if prowler:
        print(f"prowler:   AWS_ENDPOINT_URL={url} {' '.join(prowler_cmd(prowler, work / 'output'))}")

    run, warm = run_tablesafe(ts_base, ts_env, url, work / "tablesafe-warm-up")
    print(
        f"tablesafe warm-up {run.seconds:.1f} s: {warm['tables']} tables, {warm['findings']} findings "
        f"{warm['by_rule']}, {warm['blueprints']} blueprints, {warm['runbooks']} runbooks, "
        f"{len(warm['errors'])} read errors",
        flush=True,
    )
    ts, pr = Series("tablesafe"), Series("prowler")
    pr_counts: dict[str, Any] = {}
    for i in range(max(args.runs, 0 if args.skip_prowler else args.prowler_runs)):
        if i < args.runs:
            run, _ = run_tablesafe(ts_base, ts_env, url, work / "tablesafe")
            ts.runs.append(run)
            print(f"  tablesafe run {i + 1}/{args.runs}: {run.seconds:.1f} s ({machine_load()})", flush=True)
        if prowler and i < args.prowler_runs:
            run, pr_counts = run_prowler(prowler, {**env, "AWS_ENDPOINT_URL": url}, work / "prowler")
            pr.runs.append(run)
            load = machine_load()
            print(f"  prowler   run {i + 1}/{args.prowler_runs}: {run.seconds:.1f} s ({load})", flush=True)

    print(f"tablesafe {args.tables}: {fmt_series(ts)}, peak RSS {ts.peak_rss_mb:.0f} MB")
    rows.append((f"tablesafe audit {args.tables} median", f"{ts.median:.1f} s", "", ""))
    rows.append(("tablesafe min / max", f"{min(ts.times):.1f} / {max(ts.times):.1f} s", "", ""))
    files_ok = warm["blueprints"] == warm["runbooks"] == warm["tables"] == args.tables
    ok = files_ok and warm["findings"] > 0 and not warm["errors"]
    rows.append(
        (
            "tablesafe tables / blueprints / runbooks",
            f"{warm['tables']} / {warm['blueprints']} / {warm['runbooks']}, {len(warm['errors'])} errors",
            f"{args.tables} each, 0 errors",
            verdict(ok),
        )
    )
    for rule, n in warm["by_rule"].items():
        rows.append((f"  tablesafe {rule} findings", str(n), "", ""))
    if not prowler:
        return
    print(f"prowler {pr_counts['version']} {args.tables}: {fmt_series(pr)}, peak RSS {pr.peak_rss_mb:.0f} MB")
    print(f"prowler findings per check: {pr_counts['by_check']}")
    rows.append((f"prowler {pr_counts['version']} median", f"{pr.median:.1f} s", "", ""))
    per_table = {check: pr_counts["resources"].get(check, 0) for check in PROWLER_TABLE_CHECKS}
    ok = all(n == args.tables for n in per_table.values())
    rows.append(
        (
            "prowler tables per table check",
            ", ".join(f"{c.removeprefix('dynamodb_')} {n}" for c, n in per_table.items()),
            f"{args.tables} each",
            verdict(ok),
        )
    )
    for check, by_status in pr_counts["by_check"].items():
        text = ", ".join(f"{k} {v}" for k, v in by_status.items())
        rows.append((f"  prowler {check.removeprefix('dynamodb_')}", text, "", ""))
    expected = {
        "dynamodb_tables_pitr_enabled": args.tables - stats["pitr"],
        "dynamodb_table_deletion_protection_enabled": args.tables - stats["deletion_protection"],
    }
    got = {check: pr_counts["by_check"].get(check, {}).get("FAIL", 0) for check in expected}
    rows.append(
        (
            "prowler FAILs = seeded PITR off / no DP",
            f"{got['dynamodb_tables_pitr_enabled']} / {got['dynamodb_table_deletion_protection_enabled']}",
            f"{expected['dynamodb_tables_pitr_enabled']} / "
            f"{expected['dynamodb_table_deletion_protection_enabled']}",
            verdict(got == expected),
        )
    )
    ratio = pr.median / ts.median
    print(f"ratio prowler/tablesafe: {ratio:.2f}x")
    rows.append(
        (
            "ratio prowler / tablesafe",
            f"{ratio:.2f}x",
            f">= {TARGET_RATIO:.0f}x",
            verdict(ratio >= TARGET_RATIO),
        )
    )


def load_proxy() -> ModuleType:
    """tests/aws_proxy.py (stdlib only), imported by path: the one copy of the proxy."""
    return load_test_helper("aws_proxy.py")


def rate_limited_run(args: argparse.Namespace, url: str, env: dict[str, str], rows: list[Row]) -> None:
    """Part 2: 300 tables behind a proxy that throttles beyond the documented 10/s, as AWS
    does; then Prowler behind the same proxy, the like-for-like comparison (moto alone
    enforces no limit, so part 1 lets Prowler go faster than AWS would)."""
    ts_base, ts_env = tablesafe_command()
    ts_env = {**ts_env, **FAKE_CREDENTIALS}
    limits = dict.fromkeys(THROTTLED_OPERATIONS, THROTTLE_RATE)
    floor = args.throttle_tables / THROTTLE_RATE
    reset_moto(url)
    start = time.perf_counter()
    stats = seed_tables(url, args.throttle_tables, stacks=0, per_stack=TABLES_PER_STACK, seed=11)
    print(f"seeded {url} in {time.perf_counter() - start:.1f} s: {dict(stats)}", flush=True)
    with load_proxy().AwsProxy(url, rate_limits=limits) as proxy:
        print(f"proxy {proxy.url} -> {url}: {limits} requests/s, ThrottlingException beyond")
        run, counts = run_tablesafe(ts_base, ts_env, proxy.url, OUT / "audit-throttled")
        calls = proxy.operations("dynamodb")
        throttled = sum(proxy.throttled.values())
    print(
        f"tablesafe {args.throttle_tables} tables at {THROTTLE_RATE:.0f}/s: {run.seconds:.1f} s "
        f"(floor {floor:.0f} s, {run.seconds / floor:.3f}x), exit {run.returncode}, "
        f"{counts['tables']} tables, {len(counts['errors'])} read errors, "
        f"{throttled} throttled {dict(proxy.throttled)}; DynamoDB calls {dict(calls)}"
    )
    limit = floor * TARGET_FLOOR_FACTOR
    rows.append(
        (
            f"tablesafe {args.throttle_tables} tables at 10/s",
            f"{run.seconds:.1f} s ({run.seconds / floor:.3f}x floor)",
            f"<= {limit:.1f} s ({TARGET_FLOOR_FACTOR}x {floor:.0f} s)",
            verdict(run.seconds <= limit),
        )
    )
    ok = not counts["errors"] and counts["tables"] == args.throttle_tables
    rows.append(
        (
            "  read errors / throttled responses",
            f"{len(counts['errors'])} / {throttled}",
            "0 errors (0 throttles ideal)",
            verdict(ok),
        )
    )
    if args.skip_prowler:
        return
    prowler = venv_tool("prowler-venv.sh", "prowler", "about 7 min")
    with load_proxy().AwsProxy(url, rate_limits=limits) as proxy:
        pr_run, pr_counts = run_prowler(
            prowler, {**env, "AWS_ENDPOINT_URL": proxy.url}, OUT / "prowler-throttled"
        )
        pr_throttled = sum(proxy.throttled.values())
    covered = {check: pr_counts["resources"].get(check, 0) for check in PROWLER_TABLE_CHECKS}
    print(
        f"prowler {args.throttle_tables} tables at {THROTTLE_RATE:.0f}/s: {pr_run.seconds:.1f} s, "
        f"{pr_throttled} throttled {dict(proxy.throttled)}, tables per check {covered}"
    )
    rows.append(
        (
            f"prowler {args.throttle_tables} tables at 10/s (same proxy)",
            f"{pr_run.seconds:.1f} s, {pr_throttled} throttled, "
            + ", ".join(f"{c.removeprefix('dynamodb_')} {n}" for c, n in covered.items()),
            "",
            "",
        )
    )
    rows.append(
        (
            "  ratio prowler / tablesafe at 10/s",
            f"{pr_run.seconds / run.seconds:.2f}x",
            f">= {TARGET_RATIO:.0f}x (like for like)",
            verdict(pr_run.seconds / run.seconds >= TARGET_RATIO),
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Seed the servers, run the tools, print the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000, help="tables of the comparison (1000)")
    parser.add_argument("--runs", type=int, default=3, help="measured tablesafe runs (3)")
    parser.add_argument("--prowler-runs", type=int, default=1, help="measured Prowler runs (1)")
    parser.add_argument("--throttle-tables", type=int, default=THROTTLE_TABLES, help="tables of part 2 (300)")
    parser.add_argument("--only", choices=["compare", "throttle"], help="run one part only")
    parser.add_argument("--skip-prowler", action="store_true", help="part 1 without Prowler (no ratio)")
    args = parser.parse_args(argv)
    if min(args.runs, args.prowler_runs, args.tables, args.throttle_tables) < 1:
        parser.error("--runs, --prowler-runs, --tables and --throttle-tables must be >= 1")
    rows: list[Row] = []
    try:
        require_aws_libraries()
        env = use_fake_credentials()
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"start: {machine_load()}", flush=True)
        with moto_endpoint() as url:
            if args.only in (None, "compare"):
                compare_with_prowler(args, url, env, rows)
            if args.only in (None, "throttle"):
                rate_limited_run(args, url, env, rows)
    except BenchError as exc:
        print(f"bench_audit: {exc}", file=sys.stderr)
        return 2
    print(f"end: {machine_load()}")
    return print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
