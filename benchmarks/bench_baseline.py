"""Benchmark `tablesafe check --baseline` on a 1,000-table assembly pair.

One command (stdlib only, any Python >= 3.11):

    python benchmarks/bench_baseline.py [--runs 7]

1. Generates the 1,000-table / 5-stack assembly of bench_check.py into
   benchmarks/out/baseline-before, and a copy into benchmarks/out/baseline-after in which
   a known set of tables changed: keys re-keyed, Tables swapped for GlobalTables, tables
   renamed (new logical ID), tables removed, and as many safe changes (billing mode).
2. Times `tablesafe check AFTER --baseline BEFORE --format json --output /dev/null
   --fail-on never` (median, min and max of --runs runs after one warm-up), and the same
   check without --baseline, so the cost of the comparison itself is visible.

The warm-up report is counted: every planted replacement must be found, and no safe
change may be. Exit status: 0 when the target holds, 1 when it does not, 2 when
tablesafe cannot be run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from _common import (  # benchmarks/ is sys.path[0] when run as a script
    OUT,
    BenchError,
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

TARGET_S = 0.5
PLANTED_PER_KIND = 10
"""Tables per stack changed in each way (re-key, swap, rename, remove, safe)."""


def _tables(template: dict) -> list[str]:
    return [
        lid
        for lid, r in template["Resources"].items()
        if r.get("Type") == "AWS::DynamoDB::Table" and r.get("DeletionPolicy") != "Retain"
    ]


def plant_changes(after: Path) -> dict[str, int]:
    """Change tables of every stack template in place; return how many of each kind."""
    counts = {"TS005": 0, "TS006": 0, "safe": 0}
    for path in sorted(after.glob("*.template.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        resources = template["Resources"]
        candidates = _tables(template)
        groups = [candidates[i * PLANTED_PER_KIND : (i + 1) * PLANTED_PER_KIND] for i in range(5)]
        rekey, swap, rename, remove, safe = groups
        for lid in rekey:
            resources[lid]["Properties"]["KeySchema"] = [{"AttributeName": "rekeyed", "KeyType": "HASH"}]
            resources[lid]["Properties"]["AttributeDefinitions"] = [
                {"AttributeName": "rekeyed", "AttributeType": "S"}
            ]
        for lid in swap:
            resources[lid]["Type"] = "AWS::DynamoDB::GlobalTable"
        for lid in rename:  # a new logical ID: paired as a likely rename, or a Delete-policy removal
            resources[f"{lid}Renamed"] = resources.pop(lid)
        for lid in remove:
            del resources[lid]
        for lid in safe:
            resources[lid]["Properties"]["BillingMode"] = "PROVISIONED"
        counts["TS005"] += len(swap)
        counts["TS006"] += len(rekey) + len(rename) + len(remove)
        counts["safe"] += len(safe)
        path.write_text(json.dumps(template, indent=1), encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    before, after = OUT / "baseline-before", OUT / "baseline-after"
    try:
        info = generate(before, tables=1000, stacks=5)
        shutil.rmtree(after, ignore_errors=True)
        shutil.copytree(before, after)
        planted = plant_changes(after)
        base, env = tablesafe_command()
        report = OUT / "baseline-report.json"
        with_baseline = [*base, "check", str(after), "--baseline", str(before), "--fail-on", "never"]
        warm = run_measured([*with_baseline, "--format", "json", "--output", str(report)], env)
        check_ts_run(warm, "warm-up")
        counts = tablesafe_counts(report)
        print(f"assembly pair: {info['tables']} tables, {info['stacks']} stacks; planted {planted}")
        print(f"found: {counts['by_rule']}")
        if counts["by_rule"].get("TS005", 0) != planted["TS005"]:
            raise BenchError(f"expected {planted['TS005']} TS005 findings, got {counts['by_rule']}")
        if counts["by_rule"].get("TS006", 0) != planted["TS006"]:
            raise BenchError(f"expected {planted['TS006']} TS006 findings, got {counts['by_rule']}")
        paired = Series("check --baseline")
        plain = Series("check")
        to_null = ["--format", "json", "--output", "/dev/null"]
        for _ in range(args.runs):
            paired.runs.append(run_measured([*with_baseline, *to_null], env))
            plain.runs.append(run_measured([*base, "check", str(after), "--fail-on", "never", *to_null], env))
        for series in (paired, plain):
            for run in series.runs:
                check_ts_run(run, series.name)
    except BenchError as error:
        print(f"bench_baseline: {error}", file=sys.stderr)
        return 2
    print(f"tablesafe check --baseline: {fmt_series(paired)}")
    print(f"tablesafe check (no baseline): {fmt_series(plain)}")
    return print_table(
        [
            (
                "check --baseline, 1,000-table pair (median)",
                f"{paired.median:.3f} s",
                f"< {TARGET_S} s",
                verdict(paired.median < TARGET_S),
            ),
            ("cost of the comparison (median difference)", f"{paired.median - plain.median:.3f} s", "", ""),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
