"""Benchmark `tablesafe lint --fix` beside `tablesafe lint` on one file of many tables.

One command (stdlib only, any Python >= 3.11):

    python benchmarks/bench_fix.py [--runs 3] [--sizes 500,1000,2000,4000]

For each language (Python, TypeScript) and each size N, it writes one CDK source file of N
tables (each with one line of props: the deprecated PITR prop, no deletion protection, a
DESTROY removal policy in one table in three, so every table has findings to fix), then
times, in a fresh copy each run:

- `tablesafe lint FILE --format json --fail-on never` (what pre-commit's lint hook costs),
- `tablesafe lint --fix FILE --format json --fail-on never` (parse, plan, rewrite, write, and
  the report of what remains).

It prints the median of --runs runs (the whole process, start to exit) and peak memory, the
ratio fix / lint, and checks the target of issue 17: TypeScript --fix on 4,000 tables within
3x of lint. The fixed file is linted once more and must have no finding left, so a benchmark
that fixes nothing cannot pass. Exit status: 0 when the target holds, 1 when it does not, 2
when tablesafe cannot be run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _common import OUT, BenchError, print_table, run_measured, tablesafe_command, verdict

TS_TARGET_RATIO = 3.0

PY_HEAD = (
    "import aws_cdk as cdk\n"
    "from aws_cdk import aws_dynamodb as dynamodb\n\n\n"
    "class Shop(cdk.Stack):\n"
    "    def __init__(self, scope, construct_id):\n"
    "        super().__init__(scope, construct_id)\n"
    '        pk = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)\n'
)
TS_HEAD = (
    "import { RemovalPolicy, Stack } from 'aws-cdk-lib';\n"
    "import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';\n\n"
    "export class Shop extends Stack {\n"
    "  constructor(scope: any, id: string) {\n"
    "    super(scope, id);\n"
    "    const pk = { name: 'pk', type: dynamodb.AttributeType.STRING };\n"
)


def source(language: str, tables: int) -> str:
    """One file of `tables` tables, each with something to fix."""
    lines = [PY_HEAD if language == "python" else TS_HEAD]
    for i in range(tables):
        policy = i % 3 == 0
        if language == "python":
            destroy = ", removal_policy=cdk.RemovalPolicy.DESTROY" if policy else ""
            props = f"partition_key=pk, point_in_time_recovery=True{destroy}"
            lines.append(f'        dynamodb.Table(self, "T{i}", {props})\n')
        else:
            destroy = ", removalPolicy: RemovalPolicy.DESTROY" if policy else ""
            props = f"partitionKey: pk, pointInTimeRecovery: true{destroy}"
            lines.append(f"    new dynamodb.Table(this, 'T{i}', {{ {props} }});\n")
    lines.append("" if language == "python" else "  }\n}\n")
    return "".join(lines)


def measure(
    command: list[str], env: dict[str, str], original: Path, args: list[str], runs: int
) -> tuple[float, float]:
    """Median seconds and peak MB of `tablesafe ARGS copy`, each run on a fresh copy."""
    times, peaks = [], []
    for _ in range(runs):
        copy = original.with_name("run" + original.suffix)
        shutil.copy(original, copy)
        run = run_measured([*command, *args, str(copy)], env=env, cwd=original.parent)
        if run.returncode != 0:
            raise BenchError(f"tablesafe {' '.join(args)} exited {run.returncode}:\n{run.stderr[-2000:]}")
        times.append(run.seconds)
        peaks.append(run.max_rss_mb)
    return statistics.median(times), max(peaks)


def remaining(command: list[str], env: dict[str, str], folder: Path, name: str) -> int:
    """Findings left in the fixed copy (0 expected)."""
    out = folder / "left.json"
    run = run_measured(
        [*command, "lint", "--format", "json", "--output", str(out), "--fail-on", "never", name],
        env=env,
        cwd=folder,
    )
    if run.returncode != 0:
        raise BenchError(f"lint of the fixed file exited {run.returncode}:\n{run.stderr[-2000:]}")
    return json.loads(out.read_text())["summary"]["findings"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="500,1000,2000,4000")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    try:
        OUT.mkdir(parents=True, exist_ok=True)
        command, env = tablesafe_command()
        rows = []
        ratios: dict[tuple[str, int], float] = {}
        print(f"{'language':<11}{'tables':>7}{'lint':>10}{'--fix':>10}{'fix/lint':>10}{'fix MB':>9}")
        with tempfile.TemporaryDirectory(prefix="tablesafe-bench-fix-") as tmp:
            folder = Path(tmp)
            for language, suffix in (("python", ".py"), ("typescript", ".ts")):
                for size in sizes:
                    original = folder / f"stack{size}{suffix}"
                    original.write_text(source(language, size))
                    quiet = ["--format", "json", "--fail-on", "never"]
                    lint, _ = measure(command, env, original, ["lint", *quiet], args.runs)
                    fix, peak = measure(command, env, original, ["lint", "--fix", *quiet], args.runs)
                    left = remaining(command, env, folder, "run" + suffix)
                    if left:
                        raise BenchError(f"{language} {size}: {left} findings left after --fix")
                    ratios[(language, size)] = fix / lint
                    print(
                        f"{language:<11}{size:>7}{lint:>9.2f}s{fix:>9.2f}s{fix / lint:>9.1f}x{peak:>8.0f}",
                        flush=True,
                    )
        largest = max(sizes)
        ts_ratio = ratios[("typescript", largest)]
        rows.append(
            (
                f"TypeScript --fix / lint, {largest} tables",
                f"{ts_ratio:.1f}x",
                f"<= {TS_TARGET_RATIO:.0f}x",
                verdict(ts_ratio <= TS_TARGET_RATIO),
            )
        )
        return print_table(rows)
    except BenchError as error:
        print(f"bench_fix: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
