"""Benchmark the in-app integrations on a 1,000-table CDK app, in one process.

    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 .venv/bin/python benchmarks/bench_aspect.py \
        [--tables 1000] [--stacks 5] [--runs 3]

Builds a fresh ``App`` for every run (same process, so jsii and aws-cdk-lib load once) and
times constructing the app and ``app.synth()`` with: no checks; an Aspect written in
Python that does nothing (the floor of any Python Aspect: jsii calls back into Python for
every construct); ``TableSafetyChecks``; ``TableSafetyPack``; cdk-nag's
``AwsSolutionsChecks``. Runs are interleaved, after one warm-up of each variant, and the
median of ``--runs`` is reported. "app" time (constructing plus synthesizing) is what
``cdk synth`` spends in the app once the interpreter and jsii have started; the target is
that ``TableSafetyChecks`` adds under 5% to it.

One table in 20 is unsafe (no PITR, no deletion protection) and a quarter are ``TableV2``
with a replica, so every variant has findings to report; they are counted after each run so
that a benchmark that silently checks nothing cannot pass. Exit status: 0 when the Aspect
meets the target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")

import aws_cdk as cdk  # after the environment variable that the jsii runtime reads
import jsii
from aws_cdk import aws_dynamodb as dynamodb
from cdk_nag import AwsSolutionsChecks

from tablesafe.cdk_aspects import TableSafetyChecks, TableSafetyPack

TARGET_OVERHEAD = 0.05
METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"
ENV = cdk.Environment(account="111111111111", region="us-east-1")
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
SAFE_PITR = dynamodb.PointInTimeRecoverySpecification(
    point_in_time_recovery_enabled=True, recovery_period_in_days=35
)


def build(app: cdk.App, tables: int, stacks: int) -> None:
    per_stack = -(-tables // stacks)
    for s in range(stacks):
        stack = cdk.Stack(app, f"Service{s}", env=ENV)
        for i in range(min(per_stack, tables - s * per_stack)):
            safe: dict[str, Any] = (
                {}
                if i % 20 == 0
                else {"point_in_time_recovery_specification": SAFE_PITR, "deletion_protection": True}
            )
            if i % 4 == 1:
                dynamodb.TableV2(
                    stack,
                    f"T{i}",
                    partition_key=KEY,
                    replicas=[dynamodb.ReplicaTableProps(region="us-west-2")],
                    **safe,
                )
            else:
                dynamodb.Table(stack, f"T{i}", partition_key=KEY, **safe)


@jsii.implements(cdk.IAspect)
class NoopAspect:
    """The floor of any Aspect written in Python: one jsii callback per construct, no work."""

    def visit(self, node: Any) -> None:
        pass


def add_noop(app: cdk.App) -> None:
    cdk.Aspects.of(app).add(NoopAspect())


def add_checks(app: cdk.App) -> None:
    cdk.Aspects.of(app).add(TableSafetyChecks())


def add_pack(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(TableSafetyPack(app))


def add_aws_solutions(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


VARIANTS: dict[str, Callable[[cdk.App], None] | None] = {
    "no checks": None,
    "no-op Python Aspect": add_noop,
    "TableSafetyChecks": add_checks,
    "TableSafetyPack": add_pack,
    "AwsSolutionsChecks": add_aws_solutions,
}


def count_findings(outdir: Path) -> int:
    """Error/warning annotations plus validation-report violations of one synthesized app."""
    count = 0
    for metadata_file in outdir.glob("*.metadata.json"):
        for entries in json.loads(metadata_file.read_text()).values():
            count += sum(e["type"] in ("aws:cdk:error", "aws:cdk:warning") for e in entries)
    report = outdir / "validation-report.json"
    if report.is_file():
        for plugin in json.loads(report.read_text())["pluginReports"]:
            if plugin["pluginName"] != "CloudFormation Validate":
                count += sum(len(v["violatingConstructs"]) for v in plugin["violations"])
    return count


@dataclass
class Series:
    build: list[float] = field(default_factory=list)
    synth: list[float] = field(default_factory=list)
    findings: int = 0

    @property
    def app(self) -> float:
        return statistics.median(b + s for b, s in zip(self.build, self.synth, strict=True))


def run_once(variant: str, tables: int, stacks: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="bench-aspect-") as outdir:
        # in-memory mode: a failed validation raises with the report instead of printing it
        context = {METADATA_FLAG: True, "@aws-cdk/core:appMode": "inmemory"}
        started = time.perf_counter()
        app = cdk.App(outdir=outdir, context=context)
        build(app, tables, stacks)
        add = VARIANTS[variant]
        if add is not None:
            add(app)
        built = time.perf_counter()
        try:
            app.synth()
        except RuntimeError as error:
            if "ValidationFailed" not in str(error):
                raise
        done = time.perf_counter()
        return built - started, done - built, count_findings(Path(outdir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--stacks", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    series = {name: Series() for name in VARIANTS}
    print(
        f"{args.tables} tables in {args.stacks} stacks; warm-up, then {args.runs} interleaved runs",
        flush=True,
    )
    for name in VARIANTS:
        _, _, series[name].findings = run_once(name, args.tables, args.stacks)
    for run in range(args.runs):
        for name in VARIANTS:
            build_s, synth_s, _ = run_once(name, args.tables, args.stacks)
            series[name].build.append(build_s)
            series[name].synth.append(synth_s)
            print(f"  run {run + 1} {name:<20} build {build_s:6.2f} s  synth {synth_s:6.2f} s", flush=True)
    base = series["no checks"]
    base_synth = statistics.median(base.synth)
    print(f"\n{'variant':<20} {'build':>8} {'synth()':>8} {'app':>8} {'+app':>8} {'+synth()':>9} findings")
    for name, s in series.items():
        synth = statistics.median(s.synth)
        print(
            f"{name:<20} {statistics.median(s.build):7.2f}s {synth:7.2f}s {s.app:7.2f}s "
            f"{(s.app / base.app - 1) * 100:7.1f}% {(synth / base_synth - 1) * 100:8.1f}% {s.findings:>8}"
        )
    checks = series["TableSafetyChecks"]
    overhead = checks.app / base.app - 1
    if checks.findings == 0 or series["TableSafetyPack"].findings == 0:
        print("FAIL: an integration reported nothing; the benchmark would measure nothing")
        return 1
    verdict = "PASS" if overhead < TARGET_OVERHEAD else "MISS"
    print(f"\n{verdict}: TableSafetyChecks adds {overhead * 100:.1f}% to the app's synth time (target < 5%)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
