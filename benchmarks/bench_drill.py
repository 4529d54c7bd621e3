"""Time `tablesafe drill` of a 10,000-item table on a local moto server, phase by phase, by both routes.

Run it with the project's venv (it needs boto3 and moto: `pip install -e '.[demo]'`):

    .venv/bin/python benchmarks/bench_drill.py [--items 10000] [--runs 3] [--sample 1000]

Starts a moto server on 127.0.0.1, creates a table with two GSIs (one with a binary key) and
PITR, seeds it with --items items of every attribute type (tests/drill_helpers.py, the tests'
own table), then, after one untimed warm-up drill by each route, runs `tablesafe drill
TABLE --route R` --runs times per route, the routes interleaved so that drift on the machine
affects both alike. Each run's phase times come from its result file (the drill measures
them itself: export, import or restore, compare, and the recovery time), the wall time and
peak RSS from a fresh child process.

What moto says about AWS: nothing about the export, import or restore times themselves
(moto copies in threads, AWS takes minutes), but the drill's own work is real: reading the
export's data files for the sample, the comparison of every sampled item, the restore
route's parallel count, polling and cleanup. Exit status: 0 when every drill proved the
table, 2 when a run failed or could not be read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from _common import (  # benchmarks/ is sys.path[0] when run as a script
    OUT,
    BenchError,
    Run,
    load_test_helper,
    print_table,
    run_measured,
    tablesafe_command,
)
from bench_audit import (
    FAKE_CREDENTIALS,
    REGION,
    machine_load,
    moto_endpoint,
    require_aws_libraries,
    use_fake_credentials,
)

TABLE = "ledger"
BUCKET = "bench-drill-exports"
ROUTES = ("export-import", "pitr-restore")
REBUILD = {"export-import": "import", "pitr-restore": "restore"}


def seed(url: str, items: int) -> None:
    import boto3

    tables = load_test_helper("drill_helpers.py")
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=url)
    tables.create_table(dynamodb, TABLE)
    tables.seed(dynamodb, TABLE, items)
    boto3.client("s3", region_name=REGION, endpoint_url=url).create_bucket(Bucket=BUCKET)


def drill_once(
    base: list[str], env: dict[str, str], url: str, route: str, sample: int, out: Path
) -> tuple[Run, dict]:
    """One drill in a fresh process; its run and its result file."""
    before = set(out.rglob("*.json"))
    command = [
        *base, "drill", TABLE, "--endpoint-url", url, "--region", REGION, "--bucket", BUCKET,
        "--route", route, "--sample", str(sample), "--output-dir", str(out),
    ]  # fmt: skip
    run = run_measured(command, env=env)
    written = sorted(set(out.rglob("*.json")) - before)
    if not written:
        raise BenchError(f"the {route} drill wrote no result (exit {run.returncode}):\n{run.stderr[-2000:]}")
    result = json.loads(written[-1].read_text(encoding="utf-8"))
    if run.returncode != 0 or result["verdict"] != "proven":
        raise BenchError(
            f"the {route} drill did not prove the table: {result['problem']}\n{run.stderr[-2000:]}"
        )
    return run, result


def median_text(values: list[float]) -> str:
    return (
        f"{statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="items of the table (10000)")
    parser.add_argument("--runs", type=int, default=3, help="measured drills per route (3)")
    parser.add_argument("--sample", type=int, default=1000, help="items compared per drill (1000)")
    args = parser.parse_args(argv)
    if min(args.items, args.runs, args.sample) < 1:
        parser.error("--items, --runs and --sample must be >= 1")
    try:
        require_aws_libraries()
        use_fake_credentials()
        base, ts_env = tablesafe_command()
        env = {**ts_env, **FAKE_CREDENTIALS}
        out = OUT / "drills"
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"start: {machine_load()}", flush=True)
        with moto_endpoint() as url:
            seed(url, args.items)
            for route in ROUTES:  # untimed: moto loads its backends on first use
                drill_once(base, env, url, route, args.sample, out / "warm-up")
            measured: dict[str, list[tuple[Run, dict]]] = {route: [] for route in ROUTES}
            for _ in range(args.runs):
                for route in ROUTES:
                    measured[route].append(drill_once(base, env, url, route, args.sample, out))
    except BenchError as exc:
        print(f"bench_drill: {exc}", file=sys.stderr)
        return 2
    print(f"end: {machine_load()}")
    rows = []
    for route, runs in measured.items():
        results = [result for _, result in runs]
        for phase in ("export", REBUILD[route], "compare"):
            rows.append((f"{route}: {phase}", median_text([r["phases"][phase] for r in results]), "-", "-"))
        rows.append(
            (f"{route}: recovery time", median_text([r["recovery_seconds"] for r in results]), "-", "-")
        )
        rows.append((f"{route}: process (wall)", median_text([run.seconds for run, _ in runs]), "-", "-"))
        peak = max(run.max_rss_mb for run, _ in runs)
        rows.append((f"{route}: peak RSS", f"{peak:.0f} MB", "-", "-"))
        items = ", ".join(sorted({str(r["counts"]["exported"]) for r in results}))
        rows.append(
            (f"{route}: items exported / sampled", f"{items} / {results[0]['sample']['equal']}", "-", "-")
        )
    return print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
