"""Benchmark `tablesafe check` against checkov on synthetic CDK cloud assemblies.

One command (stdlib only, any Python >= 3.11):

    python benchmarks/bench_check.py [--runs 7] [--checkov-runs 3] [--only tablesafe|checkov]

1. Generates a 1,000-table / 5-stack assembly into benchmarks/out/assembly-1k.
2. Times `tablesafe check DIR --format json --output /dev/null --fail-on never` and
   `checkov -d DIR --framework cloudformation -c CKV_AWS_28,CKV_AWS_165 --quiet --compact
   -o json --skip-download`, interleaved, after one warm-up run of each; reports median,
   min and max wall time and the checkov/tablesafe ratio.
3. Generates a 10,000-table / 50-stack assembly into benchmarks/out/assembly-10k and
   reports tablesafe's wall time and peak RSS there.

The warm-up runs write their JSON to benchmarks/out/, and the findings they report are
counted, so that a benchmark that silently checks nothing cannot pass. Exit status: 0
when every measured target passes, 1 otherwise, 2 when a tool cannot be run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (  # benchmarks/ is sys.path[0] when run as a script
    OUT,
    REPO,
    BenchError,
    Run,
    Series,
    check_ts_run,
    fmt_series,
    print_table,
    run_measured,
    tablesafe_command,
    tablesafe_counts,
    verdict,
)
from generate_assembly import generate

CHECKOV_CHECKS = "CKV_AWS_28,CKV_AWS_165"

TARGET_TABLESAFE_S = 0.3
TARGET_RATIO = 30.0
TARGET_RSS_MB = 200.0


def checkov_executable() -> str:
    """The checkov CLI of .venv-checkov, from scripts/checkov-venv.sh (0.1 s when ready)."""
    if not (REPO / ".venv-checkov" / "bin" / "checkov").exists():
        print("checkov: creating .venv-checkov with scripts/checkov-venv.sh (1-2 min) ...", flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "checkov-venv.sh")], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(f"scripts/checkov-venv.sh failed:\n{done.stderr}")
    if time.perf_counter() - start > 5:
        print(f"checkov: venv ready in {time.perf_counter() - start:.0f} s", flush=True)
    return done.stdout.strip().splitlines()[-1]


def ts_cmd(base: list[str], assembly: Path, output: Path | str) -> list[str]:
    """The tablesafe check invocation that is timed."""
    return [*base, "check", str(assembly), "--format", "json", "--output", str(output), "--fail-on", "never"]


def ck_cmd(checkov: str, assembly: Path) -> list[str]:
    """The checkov invocation that is timed (--skip-download: no network calls)."""
    return [
        checkov,
        "-d",
        str(assembly),
        "--framework",
        "cloudformation",
        "-c",
        CHECKOV_CHECKS,
        "--quiet",
        "--compact",
        "-o",
        "json",
        "--skip-download",
    ]


def check_ck_run(run: Run, what: str) -> None:
    """checkov exits 1 when it finds failures, 0 when none; anything else is an error."""
    if run.returncode not in (0, 1):
        raise BenchError(f"checkov ({what}) exited {run.returncode}:\n{run.stderr[-2000:]}")


def checkov_counts(report: Path) -> dict[str, Any]:
    """Failed and parsing-error counts from checkov's JSON output (one dict or a list)."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read checkov's output {report}: {exc}") from exc
    reports = data if isinstance(data, list) else [data]
    failed = parsing_errors = resources = 0
    by_check: dict[str, int] = {}
    for rep in reports:
        summary = rep.get("summary", {})
        failed += summary.get("failed", 0)
        parsing_errors += summary.get("parsing_errors", 0)
        resources += summary.get("resource_count", 0)
        for check in rep.get("results", {}).get("failed_checks", []):
            by_check[check["check_id"]] = by_check.get(check["check_id"], 0) + 1
    version = reports[0].get("summary", {}).get("checkov_version") if reports else None
    return {
        "failed": failed,
        "by_check": dict(sorted(by_check.items())),
        "parsing_errors": parsing_errors,
        "resources": resources,
        "version": version,
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the assemblies, run the tools, print the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured tablesafe runs (7)")
    parser.add_argument("--checkov-runs", type=int, default=3, help="measured checkov runs (3)")
    parser.add_argument("--only", choices=["tablesafe", "checkov"], help="run one tool only (no ratio)")
    parser.add_argument("--skip-10k", action="store_true", help="skip the 10,000-table memory measurement")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.checkov_runs < 1:
        parser.error("--runs and --checkov-runs must be >= 1")
    use_ts = args.only in (None, "tablesafe")
    use_ck = args.only in (None, "checkov")
    rows: list[tuple[str, str, str, str]] = []  # measurement, value, target, status

    try:
        OUT.mkdir(parents=True, exist_ok=True)
        assembly = OUT / "assembly-1k"
        start = time.perf_counter()
        info = generate(assembly, tables=1000, stacks=5)
        print(
            f"generated {info['tables']} tables in {info['stacks']} stacks "
            f"({info['types']['AWS::DynamoDB::GlobalTable']} global) into "
            f"{assembly.relative_to(REPO)} in {time.perf_counter() - start:.2f} s"
        )

        ts_base, ts_env = tablesafe_command() if use_ts else ([], {})
        checkov = checkov_executable() if use_ck else ""
        if use_ts:
            print(f"tablesafe: {' '.join(ts_cmd(ts_base, assembly, '/dev/null'))}")
        if use_ck:
            print(f"checkov:   {' '.join(ck_cmd(checkov, assembly))}")

        # Warm-up runs (not timed) also produce the reports for the sanity check.
        ts_counts: dict[str, Any] = {}
        ck_counts: dict[str, Any] = {}
        if use_ts:
            report = OUT / "tablesafe-1k.json"
            run = run_measured(ts_cmd(ts_base, assembly, report), ts_env)
            check_ts_run(run, "warm-up")
            ts_counts = tablesafe_counts(report)
            print(
                f"tablesafe warm-up {run.seconds:.3f} s: {ts_counts['tables']} tables, "
                f"{ts_counts['findings']} findings {ts_counts['by_rule']}"
            )
        if use_ck:
            report = OUT / "checkov-1k.json"
            with report.open("wb") as sink:
                run = run_measured(ck_cmd(checkov, assembly), stdout=sink)
            check_ck_run(run, "warm-up")
            ck_counts = checkov_counts(report)
            print(
                f"checkov {ck_counts['version']} warm-up {run.seconds:.3f} s: "
                f"{ck_counts['failed']} failed {ck_counts['by_check']}, "
                f"{ck_counts['resources']} resources, "
                f"{ck_counts['parsing_errors']} parsing errors"
            )

        ts = Series("tablesafe")
        ck = Series("checkov")
        for i in range(max(args.runs if use_ts else 0, args.checkov_runs if use_ck else 0)):
            if use_ts and i < args.runs:
                run = run_measured(ts_cmd(ts_base, assembly, "/dev/null"), ts_env)
                check_ts_run(run, f"run {i + 1}")
                ts.runs.append(run)
                print(f"  tablesafe run {i + 1}/{args.runs}: {run.seconds:.3f} s")
            if use_ck and i < args.checkov_runs:
                run = run_measured(ck_cmd(checkov, assembly))
                check_ck_run(run, f"run {i + 1}")
                ck.runs.append(run)
                print(f"  checkov   run {i + 1}/{args.checkov_runs}: {run.seconds:.3f} s")

        if use_ts:
            print(f"tablesafe 1k: {fmt_series(ts)}, peak RSS {ts.peak_rss_mb:.0f} MB")
            rows.append(
                (
                    "tablesafe 1k median",
                    f"{ts.median:.3f} s",
                    f"< {TARGET_TABLESAFE_S} s",
                    verdict(ts.median < TARGET_TABLESAFE_S),
                )
            )
            rows.append(("tablesafe 1k min / max", f"{min(ts.times):.3f} / {max(ts.times):.3f} s", "", ""))
            ok = ts_counts["findings"] > 0 and ts_counts["tables"] >= info["tables"]
            rows.append(
                (
                    "tablesafe 1k findings",
                    f"{ts_counts['findings']} on {ts_counts['tables']} tables",
                    f"> 0 on {info['tables']} tables",
                    verdict(ok),
                )
            )
        if use_ck:
            print(f"checkov 1k:   {fmt_series(ck)}, peak RSS {ck.peak_rss_mb:.0f} MB")
            rows.append((f"checkov {ck_counts['version']} 1k median", f"{ck.median:.3f} s", "", ""))
            rows.append(("checkov 1k min / max", f"{min(ck.times):.3f} / {max(ck.times):.3f} s", "", ""))
            ok = ck_counts["failed"] > 0 and ck_counts["parsing_errors"] == 0
            rows.append(
                (
                    "checkov 1k failed checks",
                    f"{ck_counts['failed']} ({ck_counts['parsing_errors']} parse errors)",
                    "> 0, 0 parse errors",
                    verdict(ok),
                )
            )
        if use_ts and use_ck:
            ratio = ck.median / ts.median
            print(f"ratio checkov/tablesafe: {ratio:.1f}x")
            rows.append(
                (
                    "ratio checkov / tablesafe",
                    f"{ratio:.1f}x",
                    f">= {TARGET_RATIO:.0f}x",
                    verdict(ratio >= TARGET_RATIO),
                )
            )

        if use_ts and not args.skip_10k:
            big = OUT / "assembly-10k"
            start = time.perf_counter()
            big_info = generate(big, tables=10_000, stacks=50)
            print(
                f"generated {big_info['tables']} tables in {big_info['stacks']} stacks "
                f"into {big.relative_to(REPO)} in {time.perf_counter() - start:.2f} s"
            )
            report = OUT / "tablesafe-10k.json"
            warm = run_measured(ts_cmd(ts_base, big, report), ts_env)  # warm the page cache
            check_ts_run(warm, "10k warm-up")
            big_counts = tablesafe_counts(report)
            run = run_measured(ts_cmd(ts_base, big, "/dev/null"), ts_env)
            check_ts_run(run, "10k")
            print(
                f"tablesafe 10k: {run.seconds:.3f} s, peak RSS {run.max_rss_mb:.0f} MB, "
                f"{big_counts['findings']} findings on {big_counts['tables']} tables"
            )
            rows.append(
                (
                    "tablesafe 10k peak RSS",
                    f"{run.max_rss_mb:.0f} MB",
                    f"< {TARGET_RSS_MB:.0f} MB",
                    verdict(run.max_rss_mb < TARGET_RSS_MB),
                )
            )
            rows.append(("tablesafe 10k time", f"{run.seconds:.3f} s", "", ""))
            ok = big_counts["findings"] > 0 and big_counts["tables"] >= big_info["tables"]
            rows.append(
                (
                    "tablesafe 10k findings",
                    f"{big_counts['findings']} on {big_counts['tables']} tables",
                    f"> 0 on {big_info['tables']} tables",
                    verdict(ok),
                )
            )
    except BenchError as exc:
        print(f"bench_check: {exc}", file=sys.stderr)
        return 2

    return print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
