"""Benchmark `tablesafe lint` on 200 CDK source files, as a pre-commit hook runs it.

One command (stdlib only, any Python >= 3.11, git on PATH):

    python benchmarks/bench_lint.py [--runs 9] [--files 200]

1. Generates --files CDK stack files, half Python and half TypeScript, in a temporary git
   repository: three in four define one to three tables (Table and TableV2 with
   replicas, literal and non-literal props, the deprecated PITR prop, DESTROY policies),
   the rest other constructs only. It commits them, then swaps Table for TableV2 in a few
   files and stages that, as a developer about to commit would.
2. Times `tablesafe lint FILES --format json --output /dev/null --fail-on never` in that
   repository (each file compared with HEAD for TS005/TS006), and the same files copied
   to a directory outside git, after one warm-up run each; median, min and max of --runs
   runs, the whole process from start to exit, and the median CPU time (user + system),
   which other load on the machine disturbs less than the wall time.

The warm-up reports are counted (tables, findings per rule, TS005 swaps), so a benchmark
that silently lints nothing cannot pass. Exit status: 0 when the target holds, 1 when it
does not, 2 when tablesafe cannot be run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (  # benchmarks/ is sys.path[0] when run as a script
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

TARGET_S = 0.3
SWAPPED_FILES = 5

PY_HEADER = """from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


class Service{n}Stack(Stack):
    \"\"\"Service {n}: its tables and a handler.\"\"\"

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        common = {{"billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST}}
"""
PY_TABLES = (
    """
        # The orders of service {n}; PITR for 35 days.
        orders = dynamodb.Table(
            self,
            "Orders{n}",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="createdAt", type=dynamodb.AttributeType.NUMBER),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True, recovery_period_in_days=35
            ),
            deletion_protection=True,
        )
        orders.add_global_secondary_index(
            index_name="byCustomer",
            partition_key=dynamodb.Attribute(name="customerId", type=dynamodb.AttributeType.STRING),
        )
""",
    """
        dynamodb.Table(
            self,
            "Sessions{n}",
            partition_key=dynamodb.Attribute(name="sessionId", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiresAt",
            point_in_time_recovery=True,  # deprecated
            removal_policy=RemovalPolicy.DESTROY,
            **common,
        )
""",
    """
        dynamodb.TableV2(
            self,
            "Profiles{n}",
            partition_key=dynamodb.Attribute(name="customerId", type=dynamodb.AttributeType.STRING),
            table_name=f"profiles-{{stage}}",
            deletion_protection=stage == "prod",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True, recovery_period_in_days=3
            ),
            replicas=[
                dynamodb.ReplicaTableProps(region="us-west-2"),
                dynamodb.ReplicaTableProps(region="eu-west-1", deletion_protection=False),
            ],
        )
""",
)
PY_OTHER = """
        handler = lambda_.Function(
            self,
            "Handler{n}",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_asset("lambda"),
            environment={{"STAGE": stage, "POINT_IN_TIME_RECOVERY": "documented elsewhere"}},
            timeout=cdk.Duration.seconds(30),
        )
        cdk.CfnOutput(self, "HandlerArn{n}", value=handler.function_arn)
"""
TS_HEADER = """import * as cdk from 'aws-cdk-lib';
import {{ RemovalPolicy, Stack, StackProps }} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {{ Construct }} from 'constructs';

export interface Service{n}Props extends StackProps {{
  readonly stage: string;
}}

/** Service {n}: its tables and a handler. */
export class Service{n}Stack extends Stack {{
  constructor(scope: Construct, id: string, props: Service{n}Props) {{
    super(scope, id, props);
    const common = {{ billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }};
"""
TS_TABLES = (
    """
    // The orders of service {n}; PITR for 35 days.
    const orders = new dynamodb.Table(this, 'Orders{n}', {{
      partitionKey: {{ name: 'orderId', type: dynamodb.AttributeType.STRING }},
      sortKey: {{ name: 'createdAt', type: dynamodb.AttributeType.NUMBER }},
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: {{ pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 35 }},
      deletionProtection: true,
    }});
    orders.addGlobalSecondaryIndex({{
      indexName: 'byCustomer',
      partitionKey: {{ name: 'customerId', type: dynamodb.AttributeType.STRING }},
    }});
""",
    """
    new dynamodb.Table(this, 'Sessions{n}', {{
      ...common,
      partitionKey: {{ name: 'sessionId', type: dynamodb.AttributeType.STRING }},
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecovery: true, // deprecated
      removalPolicy: RemovalPolicy.DESTROY,
    }});
""",
    """
    new dynamodb.TableV2(this, 'Profiles{n}', {{
      partitionKey: {{ name: 'customerId', type: dynamodb.AttributeType.STRING }},
      tableName: `profiles-${{props.stage}}`,
      deletionProtection: props.stage === 'prod',
      pointInTimeRecoverySpecification: {{ pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 3 }},
      replicas: [{{ region: 'us-west-2' }}, {{ region: 'eu-west-1', deletionProtection: false }}],
    }});
""",
)
TS_OTHER = """
    const handler = new lambda.Function(this, 'Handler{n}', {{
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset('lambda'),
      environment: {{ STAGE: props.stage, NOTE: 'pointInTimeRecovery is documented elsewhere' }},
      timeout: cdk.Duration.seconds(30),
    }});
    new cdk.CfnOutput(this, 'HandlerArn{n}', {{ value: handler.functionArn }});
"""
NO_TABLES_PY = PY_HEADER.replace("from aws_cdk import aws_dynamodb as dynamodb\n", "").replace(
    '        common = {{"billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST}}\n', ""
)
NO_TABLES_TS = TS_HEADER.replace("import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';\n", "").replace(
    "    const common = {{ billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }};\n", ""
)


def source_file(n: int) -> tuple[str, str, int]:
    """(file name, text, tables) of file n: Python for even n, TypeScript for odd n."""
    python = n % 2 == 0
    with_tables = n % 4 != 3
    if python:
        header = PY_HEADER if with_tables else NO_TABLES_PY
    else:
        header = TS_HEADER if with_tables else NO_TABLES_TS
    bodies = (PY_TABLES if python else TS_TABLES)[: 1 + n % 3] if with_tables else ()
    other = PY_OTHER if python else TS_OTHER
    text = header.format(n=n) + "".join(body.format(n=n) for body in bodies) + other.format(n=n)
    if not python:
        text += "  }\n}\n"
    return (f"stacks/service_{n}.py" if python else f"lib/service-{n}.ts"), text, len(bodies)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def generate(repo: Path, count: int) -> tuple[list[str], int]:
    """Write, commit and partly change the files; (relative paths, tables)."""
    paths: list[str] = []
    with_tables: list[str] = []
    tables = 0
    for n in range(count):
        name, text, found = source_file(n)
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
        paths.append(name)
        tables += found
        if found:
            with_tables.append(name)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "services")
    for name in with_tables[:SWAPPED_FILES]:
        path = repo / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("dynamodb.Table(", "dynamodb.TableV2(", 1), encoding="utf-8")
        git(repo, "add", name)
    return paths, tables


def measure(
    base: list[str], env: dict[str, str], cwd: Path, paths: list[str], runs: int, what: str
) -> Series:
    """One warm-up run, then runs measured runs of `tablesafe lint` over paths in cwd."""
    series = Series(what)
    for i in range(runs + 1):
        cmd = [*base, "lint", *paths, "--format", "json", "--output", "/dev/null", "--fail-on", "never"]
        run = run_measured(cmd, env, cwd=cwd)
        check_ts_run(run, f"{what} run {i}")
        if i:
            series.runs.append(run)
    cpu = statistics.median(run.cpu_seconds for run in series.runs)
    print(f"tablesafe lint, {what}: {fmt_series(series)}, CPU {cpu:.3f} s, RSS {series.peak_rss_mb:.0f} MB")
    return series


def main(argv: list[str] | None = None) -> int:
    """Generate the files, time the runs, print the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="measured runs per setting (9)")
    parser.add_argument("--files", type=int, default=200, help="source files to lint (200)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.files < 4 * SWAPPED_FILES:
        parser.error(f"--runs must be >= 1 and --files >= {4 * SWAPPED_FILES}")
    rows: list[tuple[str, str, str, str]] = []
    try:
        base, env = tablesafe_command()
        with tempfile.TemporaryDirectory(prefix="tablesafe-bench-lint-") as tmp:
            repo, plain = Path(tmp) / "repo", Path(tmp) / "plain"
            repo.mkdir()
            paths, tables = generate(repo, args.files)
            shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
            lines = sum(len((repo / p).read_text(encoding="utf-8").splitlines()) for p in paths)
            print(f"generated {len(paths)} files ({lines} lines, {tables} table constructs) in {repo}")

            report = Path(tmp) / "report.json"
            cmd = [*base, "lint", *paths, "--format", "json", "--output", str(report), "--fail-on", "never"]
            check_ts_run(run_measured(cmd, env, cwd=repo), "report")
            counts = tablesafe_counts(report)
            print(f"report: {counts['tables']} tables, {counts['findings']} findings {counts['by_rule']}")

            in_git = measure(base, env, repo, paths, args.runs, "in git, against HEAD")
            outside = measure(base, env, plain, paths, args.runs, "outside git")
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"bench_lint: {exc}", file=sys.stderr)
        return 2

    rows.append(
        (
            f"lint {len(paths)} files, git diff HEAD, median",
            f"{in_git.median:.3f} s",
            f"< {TARGET_S} s",
            verdict(in_git.median < TARGET_S),
        )
    )
    rows.append(("  min / max", f"{min(in_git.times):.3f} / {max(in_git.times):.3f} s", "", ""))
    cpu = statistics.median(run.cpu_seconds for run in in_git.runs)
    rows.append(("  CPU time (user + system), median", f"{cpu:.3f} s", "", ""))
    rows.append((f"lint {len(paths)} files, no git, median", f"{outside.median:.3f} s", "", ""))
    rows.append(("  min / max", f"{min(outside.times):.3f} / {max(outside.times):.3f} s", "", ""))
    swaps = counts["by_rule"].get("TS005", 0)
    ok = counts["tables"] == tables and swaps == SWAPPED_FILES and not counts["errors"]
    rows.append(
        (
            "findings",
            f"{counts['findings']} on {counts['tables']} tables, {swaps} TS005",
            f"{tables} tables, {SWAPPED_FILES} TS005",
            verdict(ok),
        )
    )
    return print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
