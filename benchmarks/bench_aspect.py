"""Benchmark the in-app integrations on a 1,000-table CDK app, in one process.

    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 .venv/bin/python benchmarks/bench_aspect.py \
        [--tables 1000] [--stacks 5] [--rounds 3]

Builds a fresh ``App`` for every run (same process, so jsii and aws-cdk-lib load once) and
times constructing the app and ``app.synth()`` with: no checks; an Aspect written in
Python that does nothing (the floor of any Python Aspect: jsii calls back into Python for
every construct); ``TableSafetyValidator`` (the policy-validation plugin);
``TableSafetyChecks`` added the old way, as an Aspect; ``TableSafetyEnforcer.apply``;
``TableSafetyPack``; cdk-nag's ``AwsSolutionsChecks``. Runs are interleaved, after one
warm-up of each variant, and the median of ``--rounds`` is reported. "app" time
(constructing plus synthesizing) is what ``cdk synth`` spends in the app once the
interpreter and jsii have started. Targets: the validator adds under 5% to it, the
enforcer and the pack under 25%.

One table in 20 is unsafe (no PITR, no deletion protection) and a quarter are ``TableV2``
with a replica, so every variant has something to report or fill; that is counted after
each run so that a benchmark that silently checks nothing cannot pass. Exit status: 0 when
every target is met, 1 otherwise. ``--tables 20 --rounds 1`` checks that it runs.
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

from tablesafe.cdk_aspects import (
    ENFORCED_METADATA,
    TableSafetyChecks,
    TableSafetyEnforcer,
    TableSafetyPack,
    TableSafetyValidator,
)

TARGETS = {"TableSafetyValidator": 0.05, "TableSafetyEnforcer": 0.25, "TableSafetyPack": 0.25}
"""Variant -> the most it may add to the app time of no checks."""
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


def add_validator(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(TableSafetyValidator())


def add_checks_aspect(app: cdk.App) -> None:
    cdk.Aspects.of(app).add(TableSafetyChecks())


def add_enforcer(app: cdk.App) -> None:
    TableSafetyEnforcer().apply(app)


def add_pack(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(TableSafetyPack(app))


def add_aws_solutions(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


VARIANTS: dict[str, Callable[[cdk.App], None] | None] = {
    "no checks": None,
    "no-op Python Aspect": add_noop,
    "TableSafetyValidator": add_validator,
    "TableSafetyChecks (Aspect)": add_checks_aspect,
    "TableSafetyEnforcer": add_enforcer,
    "TableSafetyPack": add_pack,
    "AwsSolutionsChecks": add_aws_solutions,
}


def count_results(outdir: Path) -> int:
    """What one synthesized app reports or was changed by: error/warning annotations,
    validation-report violations and the enforcer's records."""
    count = 0
    for metadata_file in outdir.glob("*.metadata.json"):
        for entries in json.loads(metadata_file.read_text()).values():
            count += sum(
                e["type"] in ("aws:cdk:error", "aws:cdk:warning", ENFORCED_METADATA) for e in entries
            )
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
    results: int = 0

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
        return built - started, done - built, count_results(Path(outdir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--stacks", type=int, default=5)
    parser.add_argument("--rounds", "--runs", type=int, default=3, help="timed runs of each variant")
    args = parser.parse_args(argv)
    series = {name: Series() for name in VARIANTS}
    print(
        f"{args.tables} tables in {args.stacks} stacks; warm-up, then {args.rounds} interleaved rounds",
        flush=True,
    )
    for name in VARIANTS:
        _, _, series[name].results = run_once(name, args.tables, args.stacks)
    for run in range(args.rounds):
        for name in VARIANTS:
            build_s, synth_s, _ = run_once(name, args.tables, args.stacks)
            series[name].build.append(build_s)
            series[name].synth.append(synth_s)
            print(f"  round {run + 1} {name:<27} build {build_s:6.2f} s  synth {synth_s:6.2f} s", flush=True)
    base = series["no checks"]
    base_synth = statistics.median(base.synth)
    print(f"\n{'variant':<27} {'build':>8} {'synth()':>8} {'app':>8} {'+app':>8} {'+synth()':>9} results")
    for name, s in series.items():
        synth = statistics.median(s.synth)
        print(
            f"{name:<27} {statistics.median(s.build):7.2f}s {synth:7.2f}s {s.app:7.2f}s "
            f"{(s.app / base.app - 1) * 100:7.1f}% {(synth / base_synth - 1) * 100:8.1f}% {s.results:>8}"
        )
    silent = [
        name for name in VARIANTS if VARIANTS[name] not in (None, add_noop) and series[name].results == 0
    ]
    if silent:
        print(f"FAIL: {', '.join(silent)} reported or changed nothing; the benchmark would measure nothing")
        return 1
    print()
    missed = 0
    for name, target in TARGETS.items():
        overhead = series[name].app / base.app - 1
        verdict = "PASS" if overhead < target else "MISS"
        missed += verdict == "MISS"
        print(f"{verdict}: {name} adds {overhead * 100:.1f}% to the app's synth time (target < {target:.0%})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
