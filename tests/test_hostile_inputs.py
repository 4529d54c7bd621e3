"""Hostile inputs (issue 11, inputs half): each is one error line naming the file, exit 2,
the other inputs of the run still reported, in bounded time and memory.

Big inputs are generated in tmp_path at test time. Bounded runs go through `_measured`,
which runs the CLI in a child under an address-space limit and reports its wall time and
peak RSS, so a regression shows as a number instead of a hung or swapping test run.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, _cli_env

TABLE = {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": []}}
GOOD = {"Resources": {"Orders": TABLE}}
SECRET = {"Resources": {"Secret": TABLE}}
"""A valid template outside the assembly: if tablesafe followed a path to it, Secret
would show up among the findings."""

_CHILD = """
import re, sys
from tablesafe.cli import main
try:
    code = main(sys.argv[2:])
finally:
    with open("/proc/self/status") as status, open(sys.argv[1], "w") as out:
        out.write(re.search(r"VmHWM:\\s*(\\d+) kB", status.read()).group(1))
sys.exit(code)
"""
"""The child reports its own peak RSS (VmHWM, in kB): getrusage's ru_maxrss survives exec,
so a child of a pytest process that has loaded aws-cdk-lib would report the parent's size."""


@dataclass
class Measured:
    result: subprocess.CompletedProcess[str]
    seconds: float
    peak_mb: float


def _measured(*args: str | Path, cwd: Path, timeout: float = 30, memory_mb: int = 1024) -> Measured:
    """Run `tablesafe *args` in a child limited to memory_mb of address space (an alias
    bomb or an unbounded recursion fails fast instead of swapping); its time and peak RSS."""
    peak_file = cwd / ".peak-rss"

    def limit_memory() -> None:  # pragma: no cover - runs in the child
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(peak_file), *map(str, args)],
        cwd=cwd,
        env=_cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_memory,
    )
    seconds = time.perf_counter() - start
    peak_mb = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    return Measured(result, seconds, peak_mb)


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()


def _assert_one_error(result: subprocess.CompletedProcess[str], path: str, *problems: str) -> dict[str, Any]:
    """Exit 2, exactly one stderr line naming path and holding each problem text; the
    JSON report."""
    assert result.returncode == 2, result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1, lines
    # configuration errors have a prefix of their own, and the config is named as found
    assert re.match(rf"tablesafe: (configuration )?error: (\S*/)?{re.escape(path)}: ", lines[0]), lines
    assert all(problem in lines[0] for problem in problems), lines
    return json.loads(result.stdout)


def _logical_ids(report: dict[str, Any]) -> set[str]:
    return {finding["logical_id"] for finding in report["findings"]}


def _checked_beside_good(tmp_path: Path, path: str, *problems: str, **limits: Any) -> Measured:
    """`check PATH good.json` measured (limits: _measured's): PATH is exactly one error line
    holding each problem, and good.json's table is still judged."""
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    run = _measured("check", path, "good.json", "--format", "json", cwd=tmp_path, **limits)
    assert _logical_ids(_assert_one_error(run.result, path, *problems)) == {"Orders"}
    return run


# --- paths stay inside the assembly ----------------------------------------------------


def _stack(template_file: str, **extra: Any) -> dict[str, Any]:
    return {"type": "aws:cloudformation:stack", "properties": {"templateFile": template_file}, **extra}


def _nested(directory: str) -> dict[str, Any]:
    return {"type": "cdk:cloud-assembly", "properties": {"directoryName": directory}}


def _write_assembly(directory: Path, artifacts: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))


def _assembly_with(tmp_path: Path, case: str) -> tuple[str, str]:
    """cdk.out with a good stack (Orders) and one hostile artifact; the expected problem."""
    (tmp_path / "outside.json").write_text(json.dumps(SECRET))
    out = tmp_path / "cdk.out"
    (out / "elsewhere").mkdir(parents=True)
    (out / "Good.template.json").write_text(json.dumps(GOOD))
    artifacts: dict[str, Any] = {"Good": _stack("Good.template.json")}
    if case == "templateFile ../":
        artifacts["Evil"] = _stack("../../../../../../../../" + str(tmp_path / "outside.json"))
    elif case == "templateFile absolute":
        artifacts["Evil"] = _stack(str(tmp_path / "outside.json"))
    elif case == "templateFile with a NUL byte":
        artifacts["Evil"] = _stack("Evil\x00.template.json")
    elif case == "templateFile symlink":
        (out / "Evil.template.json").symlink_to(tmp_path / "outside.json")
        artifacts["Evil"] = _stack("Evil.template.json")
    elif case == "nested aws:cdk:templateFile":
        entry = [{"type": "aws:cdk:templateFile", "data": "../outside.json"}]
        artifacts["Good"]["metadata"] = {"/Good/Nested.NestedStack/Nested.NestedStackResource": entry}
    elif case == "additionalMetadataFile":
        artifacts["Good"]["additionalMetadataFile"] = "../outside.json"
    elif case == "unclaimed nested template symlink":
        (out / "Evil.nested.template.json").symlink_to(tmp_path / "outside.json")
    elif case == "directoryName outside":
        _write_assembly(tmp_path / "stage", {"Evil": _stack("../outside.json")})
        artifacts["Stage"] = _nested("../stage")
    elif case == "directoryName .":
        artifacts["Stage"] = _nested(".")
    elif case == "assemblies naming each other":
        _write_assembly(out / "assembly-A", {"Back": _nested("..")})
        artifacts["A"] = _nested("assembly-A")
    _write_assembly(out, artifacts)
    return PATH_CASES[case]


OUTSIDE = "resolves outside the assembly directory"
CYCLE = "names an assembly that is already read (a cycle)"
PATH_CASES = {
    "templateFile ../": ("stack Evil: templateFile ../", OUTSIDE),
    "templateFile absolute": ("stack Evil: templateFile /", OUTSIDE),
    "templateFile symlink": ("stack Evil: templateFile Evil.template.json", OUTSIDE),
    "templateFile with a NUL byte": ("stack Evil: templateFile Evil", "is not a usable file name"),
    "nested aws:cdk:templateFile": ("stack Good: aws:cdk:templateFile ../outside.json", OUTSIDE),
    "additionalMetadataFile": ("additionalMetadataFile ../outside.json", OUTSIDE),
    "unclaimed nested template symlink": ("nested template Evil.nested.template.json", OUTSIDE),
    "directoryName outside": ("nested assembly Stage: directoryName ../stage", OUTSIDE),
    "directoryName .": ("nested assembly Stage: directoryName .", CYCLE),
    "assemblies naming each other": ("nested assembly Back: directoryName ..", CYCLE),
}
_ERROR_FILE = {
    "additionalMetadataFile": "cdk.out/../outside.json",
    "unclaimed nested template symlink": "cdk.out/Evil.nested.template.json",
    "assemblies naming each other": "cdk.out/assembly-A/manifest.json",
}


@pytest.mark.parametrize("case", sorted(PATH_CASES))
def test_assembly_paths_that_leave_the_assembly_are_one_error(
    run_cli: RunCli, tmp_path: Path, case: str
) -> None:
    problems = _assembly_with(tmp_path, case)
    result = run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path)
    report = _assert_one_error(result, _ERROR_FILE.get(case, "cdk.out/manifest.json"), *problems)
    assert _logical_ids(report) == {"Orders"}  # Secret (outside) is never read


@pytest.mark.parametrize("case", ["templateFile ../", "directoryName .", "assemblies naming each other"])
def test_hostile_assembly_paths_through_baseline_and_lock(run_cli: RunCli, tmp_path: Path, case: str) -> None:
    where, problem = _assembly_with(tmp_path, case)
    (tmp_path / "new.json").write_text(json.dumps(GOOD))
    compared = run_cli("check", "new.json", "--baseline", "cdk.out", "--format", "json", cwd=tmp_path)
    report = _assert_one_error(
        compared, _ERROR_FILE.get(case, "cdk.out/manifest.json"), "baseline: " + where, problem
    )
    assert _logical_ids(report) == {"Orders"}
    locked = run_cli("lock", "cdk.out", cwd=tmp_path)
    assert locked.returncode == 2
    assert where in _error_lines(locked)[0] and problem in _error_lines(locked)[0]
    assert _error_lines(locked)[1:] == ["tablesafe: error: the lockfile was not written"]


# --- alias bombs -----------------------------------------------------------------------


def _anchors(depth: int, indent: str = "  ") -> str:
    """Nine-way nested aliases: depth 9 expands to 9**10 scalars in 800 bytes."""
    lines = [f"{indent}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{indent}l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


def _bomb_template(depth: int = 9) -> str:
    """The issue's alias bomb: the bomb sits in a PITR Fn::If that values.display renders."""
    return (
        "Parameters:\n  Env: {Type: String}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n"
        f"Metadata:\n{_anchors(depth)}Resources:\n  Bomb:\n    Type: AWS::DynamoDB::Table\n"
        "    Properties:\n      PointInTimeRecoverySpecification:\n"
        f"        PointInTimeRecoveryEnabled: !If [IsProd, *l{depth}, *l{depth}]\n"
    )


def test_alias_bomb_in_a_template_is_one_error_in_bounded_time_and_memory(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(_bomb_template())
    problem = "aliases expand the document by more than 100,000 nodes"
    run = _checked_beside_good(tmp_path, "bomb.yaml", problem, memory_mb=512)
    assert run.seconds < 10 and run.peak_mb < 150, (run.seconds, run.peak_mb)


def test_alias_bomb_through_lock(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(_bomb_template())
    run = _measured("lock", "bomb.yaml", cwd=tmp_path, memory_mb=512)
    assert run.result.returncode == 2
    assert _error_lines(run.result)[0].startswith("tablesafe: error: bomb.yaml: invalid YAML: aliases expand")
    assert not (tmp_path / "tablesafe.lock.json").exists()
    assert run.seconds < 10 and run.peak_mb < 150, (run.seconds, run.peak_mb)


def test_alias_bomb_in_the_config_exemption_rules(tmp_path: Path) -> None:
    config = (
        f"anchors:\n{_anchors(9)}exemptions:\n  - stack: x\n    reason: reasons enough here\n    rules: *l9\n"
    )
    (tmp_path / ".tablesafe.yaml").write_text(config)
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    run = _measured("check", "good.json", "--format", "json", cwd=tmp_path, memory_mb=512)
    report = _assert_one_error(run.result, ".tablesafe.yaml", "aliases expand the document")
    assert _logical_ids(report) == {"Orders"}
    assert run.seconds < 10 and run.peak_mb < 150, (run.seconds, run.peak_mb)


def test_a_few_aliases_are_still_fine(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "Resources:\n  A: &table\n    Type: AWS::DynamoDB::Table\n"
        "    Properties: {KeySchema: []}\n  B: *table\n"
    )
    result = run_cli("check", "t.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert _logical_ids(json.loads(result.stdout)) == {"A", "B"}


def test_an_alias_that_contains_itself_is_one_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").write_text("Resources: &r\n  Self: *r\n")
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    result = run_cli("check", "loop.yaml", "good.json", "--format", "json", cwd=tmp_path)
    report = _assert_one_error(result, "loop.yaml", "an alias refers to a node that contains it")
    assert _logical_ids(report) == {"Orders"}


# --- numbers and dates PyYAML and json cannot convert -------------------------------------

BIG = "9" * 5000
"""An integer over Python's int max str digits (4300): int() raises ValueError."""


def _assembly_holding(tmp_path: Path, where: str) -> None:
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Good.template.json").write_text(json.dumps(GOOD))
    manifest = json.dumps(
        {
            "version": "55.0.0",
            "artifacts": {"Good": _stack("Good.template.json", additionalMetadataFile="Good.metadata.json")},
        }
    )
    metadata = '{"/Good/Orders/Resource": [{"type": "aws:cdk:logicalId", "data": "Orders"}]}'
    if where == "manifest":
        manifest = manifest[:-1] + f', "big": {BIG}}}'
    else:
        metadata = metadata[:-1] + f', "big": {BIG}}}'
    (out / "manifest.json").write_text(manifest)
    (out / "Good.metadata.json").write_text(metadata)


UNCONVERTIBLE = {
    "template.json": ("template.json", "an integer of more than 4300 digits at line 1"),
    "template.yaml": ("template.yaml", "cannot read this int: an integer of more than 4300 digits at line 4"),
    "date in template.yaml": (
        "template.yaml",
        "cannot read this timestamp: month must be in 1..12 at line 4",
    ),
    "manifest": ("cdk.out/manifest.json", "an integer of more than 4300 digits"),
    "metadata file": ("cdk.out/Good.metadata.json", "an integer of more than 4300 digits"),
}


@pytest.mark.parametrize("case", sorted(UNCONVERTIBLE))
def test_unconvertible_numbers_and_dates_are_one_error(run_cli: RunCli, tmp_path: Path, case: str) -> None:
    path, problem = UNCONVERTIBLE[case]
    yaml_table = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Metadata: {x: %s}\n"
    if case == "template.json":
        (tmp_path / path).write_text('{"Resources": {}, "x": ' + BIG + "}")
    elif case == "template.yaml":
        (tmp_path / path).write_text(yaml_table % BIG)
    elif case == "date in template.yaml":
        (tmp_path / path).write_text(yaml_table % "2025-13-45")
    else:
        _assembly_holding(tmp_path, case.split()[0])
    (tmp_path / "other.json").write_text(json.dumps({"Resources": {"Other": TABLE}}))
    paths = ["cdk.out"] if path.startswith("cdk.out") else [path]
    result = run_cli("check", *paths, "other.json", "--format", "json", cwd=tmp_path)
    report = _assert_one_error(result, path, problem)
    assert "Other" in _logical_ids(report)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (f"min_recovery_period_days: {BIG}\n", "an integer of more than 4300 digits at line 1"),
        (
            "exemptions:\n  - stack: x\n    reason: reasons enough here\n    expires: 2025-13-45\n",
            "month must be",
        ),
    ],
    ids=["big integer", "invalid date"],
)
def test_unconvertible_config_values_are_one_error(
    run_cli: RunCli, tmp_path: Path, content: str, problem: str
) -> None:
    (tmp_path / ".tablesafe.yaml").write_text(content)
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    result = run_cli("check", "good.json", "--format", "json", cwd=tmp_path)
    report = _assert_one_error(result, ".tablesafe.yaml", problem)
    assert _logical_ids(report) == {"Orders"}


def test_big_integer_in_the_lockfile_is_one_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "tablesafe.lock.json").write_text('{"lock_version": ' + BIG + ', "tables": []}')
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    result = run_cli("check", "good.json", "--format", "json", cwd=tmp_path)
    report = _assert_one_error(
        result, "tablesafe.lock.json", "lockfile is corrupt (invalid JSON: an integer of more"
    )
    assert _logical_ids(report) == {"Orders"}


@pytest.mark.parametrize(
    "days", ["²", BIG, "٣"], ids=["superscript two", "5000 digits", "arabic-indic three"]
)
def test_recovery_period_that_is_not_a_number_is_a_fail_closed_finding(
    run_cli: RunCli, tmp_path: Path, days: str
) -> None:
    """A value a rule judges: the template parses, so it is a finding (TS007, fail-closed),
    not an input error; CloudFormation would refuse the value too."""
    spec = {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": days}
    template = {"Resources": {"T": {**TABLE, "Properties": {"PointInTimeRecoverySpecification": spec}}}}
    (tmp_path / "t.json").write_text(json.dumps(template))
    result = run_cli("check", "t.json", "--format", "json", "--fail-on", "warning", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert _error_lines(result) == []
    (ts007,) = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "TS007"]
    assert "RecoveryPeriodInDays is " in ts007["message"]
    assert "not a whole number of at most 18 digits" in ts007["message"]
    assert len(ts007["message"]) < 300


# --- lint ------------------------------------------------------------------------------

LINT_TABLE = (
    "ddb.Table(self, 'T{i}', partition_key=ddb.Attribute(name='pk', type=ddb.AttributeType.STRING))\n"
)


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero"])
def test_lint_reads_only_regular_files(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "special.py"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    (tmp_path / "good.py").write_text("from aws_cdk import aws_dynamodb as ddb\n" + LINT_TABLE.format(i=0))
    run = _measured(
        "lint", "special.py", "good.py", "--format", "json", cwd=tmp_path, timeout=20, memory_mb=512
    )
    report = _assert_one_error(run.result, "special.py", "is not a regular file")
    assert {f["construct_path"] for f in report["findings"]} == {"T0"}


def test_lint_refuses_a_file_over_the_size_limit(run_cli: RunCli, tmp_path: Path) -> None:
    with (tmp_path / "huge.py").open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    result = run_cli("lint", "huge.py", "--format", "json", cwd=tmp_path)
    _assert_one_error(result, "huge.py", "file is 11.0 MB, above the 10 MB limit")


def test_lint_on_a_200000_term_expression_is_one_error(tmp_path: Path) -> None:
    source = "from aws_cdk import aws_dynamodb as ddb\nx = " + "+".join(["1"] * 200_000) + "\n"
    (tmp_path / "long.py").write_text(source)
    (tmp_path / "good.py").write_text("from aws_cdk import aws_dynamodb as ddb\n" + LINT_TABLE.format(i=0))
    run = _measured("lint", "long.py", "good.py", "--format", "json", cwd=tmp_path, timeout=30)
    report = _assert_one_error(run.result, "long.py", "cannot be linted: an expression nests too deeply")
    assert {f["construct_path"] for f in report["findings"]} == {"T0"}


def test_lint_on_a_900_term_expression_in_props_shows_it_cut(run_cli: RunCli, tmp_path: Path) -> None:
    """Deep enough for ast.unparse to recurse past the limit, not for ast.parse."""
    expression = "+".join(["1"] * 900)
    source = (
        "from aws_cdk import aws_dynamodb as ddb\n"
        f"ddb.Table(self, 'T', point_in_time_recovery={expression})\n"
    )
    (tmp_path / "sum.py").write_text(source)
    result = run_cli("lint", "sum.py", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # TS003: no deletion protection
    assert _error_lines(result) == []
    (notice,) = json.loads(result.stdout)["notices"]
    assert "TS001, TS007 (depends on `…`, which lint does not evaluate)" in notice["message"]


@pytest.mark.parametrize("language", ["typescript", "python"])
def test_lint_on_a_deep_object_literal_is_a_notice(run_cli: RunCli, tmp_path: Path, language: str) -> None:
    if language == "typescript":
        depth = 20_000
        name = "deep.ts"
        source = (
            "import * as ddb from 'aws-cdk-lib/aws-dynamodb';\n"
            "new ddb.Table(this, 'T', {pointInTimeRecoverySpecification: {pointInTimeRecoveryEnabled: "
            + "{a: " * depth
            + "1"
            + "}" * depth
            + "}});\n"
        )
    else:
        depth = 180  # Python's parser stops at 200 nested brackets
        name = "deep.py"
        source = (
            "from aws_cdk import aws_dynamodb as ddb\n"
            "ddb.Table(self, 'T', point_in_time_recovery=" + "[" * depth + "]" * depth + ")\n"
        )
    (tmp_path / name).write_text(source)
    result = run_cli("lint", name, "--format", "json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert _error_lines(result) == []
    notices = json.loads(result.stdout)["notices"]
    assert any("not judged" in notice["message"] for notice in notices), notices


def _lint_seconds(tmp_path: Path, tables: int, suffix: str) -> float:
    if suffix == ".py":
        head = "from aws_cdk import aws_dynamodb as ddb\nclass S:\n  def __init__(self):\n"
        body = "".join("    " + LINT_TABLE.format(i=i) for i in range(tables))
    else:
        head = "import * as ddb from 'aws-cdk-lib/aws-dynamodb';\n"
        body = "".join(
            f"new ddb.Table(this, 'T{i}', {{ partitionKey: "
            "{ name: 'pk', type: ddb.AttributeType.STRING } });\n"
            for i in range(tables)
        )
    path = tmp_path / f"many{tables}{suffix}"
    path.write_text(head + body)
    from tablesafe.source import parse_source

    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        found = parse_source(path, path.read_text())
        best = min(best, time.perf_counter() - start)
    assert len(found) == tables
    return best


@pytest.mark.parametrize("suffix", [".py", ".ts"])
def test_lint_is_linear_in_tables_per_file(tmp_path: Path, suffix: str) -> None:
    """Four times the tables must take well under sixteen times as long (quadratic was
    1,000 tables 0.5 s, 4,000 tables 4.2 s); the best of two runs, as other processes
    share the machine."""
    small, large = _lint_seconds(tmp_path, 1_500, suffix), _lint_seconds(tmp_path, 6_000, suffix)
    assert large < 8 * small + 0.2, (small, large)


# --- check on big templates ------------------------------------------------------------


def test_check_on_the_90000_table_template_is_one_error_line(tmp_path: Path) -> None:
    """The issue's 9.9 MB template of 90,000 tables (18 s and 673 MB before): more resources
    than CloudFormation deploys from one template is one error line, under 5 s and 400 MB,
    and the other input of the run is still judged."""
    keyed = {**TABLE, "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}
    resources = {f"Table{i:06d}": keyed for i in range(90_000)}
    (tmp_path / "big.json").write_text(json.dumps({"Resources": resources}, separators=(",", ":")))
    assert (tmp_path / "big.json").stat().st_size > 9_000_000
    (tmp_path / "good.json").write_text(json.dumps({"Resources": {"Orders": TABLE}}))
    run = _measured("check", "big.json", "good.json", "--format", "json", cwd=tmp_path, timeout=60)
    assert run.result.returncode == 2, run.result.stderr
    assert run.result.stderr.splitlines() == [
        "tablesafe: error: big.json: has 90,000 resources; CloudFormation accepts at most 500 in one "
        "template (so does `cdk synth`), so it cannot be deployed and its tables are not judged"
    ]
    assert json.loads(run.result.stdout)["summary"]["tables"] == 1
    assert run.seconds < 5 and run.peak_mb < 400, (run.seconds, run.peak_mb)


def test_check_on_10000_tables_in_deployable_templates_is_bounded(tmp_path: Path) -> None:
    """10,000 tables as 20 templates of 500 (what CloudFormation deploys): every table is
    judged; the bounds are loose (other processes share the machine) but catch a quadratic
    step or a copy of the template per table."""
    for stack in range(20):
        resources = {f"Table{i:06d}": TABLE for i in range(500)}
        (tmp_path / f"s{stack:02d}.template.json").write_text(json.dumps({"Resources": resources}))
    run = _measured("check", ".", "--format", "json", "--output", "out.json", cwd=tmp_path, timeout=60)
    assert run.result.returncode == 1, run.result.stderr
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["tables"] == 10_000
    assert run.seconds < 30 and run.peak_mb < 300, (run.seconds, run.peak_mb)


def test_metadata_with_thousands_of_nested_stacks_is_linear(tmp_path: Path) -> None:
    """1,000 nested stack roots and 100,000 constructs: matching every construct against
    every root was 100 million comparisons; a walk down each construct path is not."""
    metadata: dict[str, Any] = {
        f"/Good/N{i}": [{"type": "aws:cdk:templateFile", "data": "Nested.template.json"}]
        for i in range(1_000)
    }
    metadata.update(
        {
            f"/Good/N{i % 1_000}/T{i}/Resource": [{"type": "aws:cdk:logicalId", "data": f"T{i}"}]
            for i in range(100_000)
        }
    )
    metadata["/Good/Orders/Resource"] = [{"type": "aws:cdk:logicalId", "data": "Orders"}]
    out = tmp_path / "cdk.out"
    _write_assembly(out, {"Good": _stack("Good.template.json", additionalMetadataFile="Good.metadata.json")})
    (out / "Good.template.json").write_text(json.dumps(GOOD))
    (out / "Nested.template.json").write_text(json.dumps({"Resources": {"T7": TABLE}}))
    (out / "Good.metadata.json").write_text(json.dumps(metadata))
    run = _measured("lock", "cdk.out", "--output", "lock.json", cwd=tmp_path, timeout=60)
    assert run.result.returncode == 0, run.result.stderr
    assert run.seconds < 10, run.seconds
    entries = json.loads((tmp_path / "lock.json").read_text())["tables"]
    assert {entry["construct_path"] for entry in entries if entry["logical_id"] == "Orders"} == {
        "Good/Orders/Resource"
    }
    assert {entry["construct_path"] for entry in entries if entry["logical_id"] == "T7"} == {
        "Good/N7/T7/Resource"
    }


def test_lint_on_a_line_with_200000_aws_cdk_mentions(run_cli: RunCli, tmp_path: Path) -> None:
    """Each mention was scanned back to the start of its line: quadratic in the line."""
    mentions = "x = '" + "aws_cdk " * 200_000 + "'\n"
    (tmp_path / "mentions.py").write_text(
        "from aws_cdk import aws_dynamodb as ddb\n" + mentions + LINT_TABLE.format(i=0)
    )
    start = time.perf_counter()
    result = run_cli("lint", "mentions.py", "--format", "json", cwd=tmp_path)
    assert time.perf_counter() - start < 5
    assert result.returncode == 1, result.stderr
    assert {f["construct_path"] for f in json.loads(result.stdout)["findings"]} == {"T0"}


# --- deep folders, deep stages, deep documents, big YAML (issue 18) ---------------------


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Callable[[Path, int], list[Path]]]:
    """chain(root, depth) makes root/d/d/.../d, depth folders, and returns them from the top;
    they are removed at teardown without recursion (shutil.rmtree recurses in Python 3.11,
    and pytest would fail cleaning 1,500 levels up)."""
    made: list[list[Path]] = []

    def make(root: Path, depth: int) -> list[Path]:
        folders = [root]
        for _ in range(depth):
            folders.append(folders[-1] / "d")
            folders[-1].mkdir()
        made.append(folders[1:])
        return folders[1:]

    yield make
    for folders in made:
        for folder in reversed(folders):
            for entry in folder.iterdir():
                if not entry.is_dir():
                    entry.unlink()
            folder.rmdir()


DEEP_FOLDERS = "folders nest more than 100 levels deep (below d/): name the files, or a folder nearer them"


def test_1500_nested_folders_are_one_error_for_check_and_lint(
    tmp_path: Path, chain: Callable[[Path, int], list[Path]]
) -> None:
    """Both walked the folder with os.walk, which recurses in Python 3.11: a RecursionError
    traceback. lint walks the folder itself only outside a git work tree, as here."""
    deep = tmp_path / "deep"
    deep.mkdir()
    bottom = chain(deep, 1_500)[-1]
    (bottom / "t.template.json").write_text(json.dumps(SECRET))
    (bottom / "app.py").write_text("from aws_cdk import aws_dynamodb as ddb\n" + LINT_TABLE.format(i=9))
    (tmp_path / "good.py").write_text("from aws_cdk import aws_dynamodb as ddb\n" + LINT_TABLE.format(i=0))
    checked = _checked_beside_good(tmp_path, "deep", DEEP_FOLDERS, memory_mb=512)
    linted = _measured("lint", "deep", "good.py", "--format", "json", cwd=tmp_path, memory_mb=512)
    report = _assert_one_error(linted.result, "deep", DEEP_FOLDERS)
    assert {f["construct_path"] for f in report["findings"]} == {"T0"}
    for run in (checked, linted):
        assert run.seconds < 5 and run.peak_mb < 150, (run.seconds, run.peak_mb)


def test_100_nested_folders_are_walked(
    run_cli: RunCli, tmp_path: Path, chain: Callable[[Path, int], list[Path]]
) -> None:
    deep = tmp_path / "deep"
    deep.mkdir()
    (chain(deep, 100)[-1] / "t.template.json").write_text(json.dumps(SECRET))
    result = run_cli("check", "deep", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert _logical_ids(json.loads(result.stdout)) == {"Secret"}


def _stage_chain(out: Path, chain: Callable[[Path, int], list[Path]], depth: int) -> None:
    """cdk.out whose every assembly has one stack (table T<level>) and the next as its stage."""
    for level, directory in enumerate([out, *chain(out, depth)]):
        artifacts: dict[str, Any] = {f"S{level}": _stack("t.template.json")}
        if level < depth:
            artifacts[f"A{level}"] = _nested("d")
        _write_assembly(directory, artifacts)
        (directory / "t.template.json").write_text(json.dumps({"Resources": {f"T{level}": TABLE}}))


def test_a_chain_of_1000_stages_is_one_error_after_100_levels_in_bounded_time(
    tmp_path: Path, chain: Callable[[Path, int], list[Path]]
) -> None:
    """Reading stages recursed, resolving each path anew: 400 deep took 4.4 s, 800 deep
    28.9 s, 1,000 deep ended in a RecursionError traceback after 52 s."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    _stage_chain(out, chain, 1_000)
    run = _measured("check", "cdk.out", "--format", "json", cwd=tmp_path, memory_mb=512)
    manifest = "cdk.out/" + "d/" * 100 + "manifest.json"
    problem = "nested assembly A100: stages nest more than 100 levels deep; directoryName d is not read"
    report = _assert_one_error(run.result, manifest, problem)
    assert _logical_ids(report) == {f"T{level}" for level in range(101)}  # the levels read
    assert run.seconds < 2 and run.peak_mb < 150, (run.seconds, run.peak_mb)


def _deep_if(depth: int) -> dict[str, Any]:
    value: Any = True
    for _ in range(depth):
        value = {"Fn::If": ["IsProd", value, False]}
    return value


DEEP_DOCUMENTS = {
    "Fn::If 200 deep in JSON": (
        "deep.json",
        json.dumps(
            {
                "Parameters": {"Env": {"Type": "String"}},
                "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
                "Resources": {"Deep": {**TABLE, "Properties": {"DeletionProtectionEnabled": _deep_if(200)}}},
            }
        ),
        "deep.json",
        "mappings and lists nest more than 100 levels deep",
    ),
    "YAML 150 deep": (
        "deep.yaml",
        "Resources:\n  Deep:\n    Type: AWS::DynamoDB::Table\n    Metadata: " + "[" * 150 + "]" * 150 + "\n",
        "deep.yaml",
        "invalid YAML: mappings and lists nest more than 100 levels deep at line 4 column 112",
    ),
    "lockfile 150 deep": (
        "tablesafe.lock.json",
        json.dumps({"lock_version": 1, "tables": [], "history": [json.loads("[" * 150 + "]" * 150)]}),
        "tablesafe.lock.json",
        "lockfile is corrupt (mappings and lists nest more than 100 levels deep)",
    ),
}


@pytest.mark.parametrize("case", sorted(DEEP_DOCUMENTS))
def test_documents_nested_more_than_100_levels_are_one_error(
    run_cli: RunCli, tmp_path: Path, case: str
) -> None:
    """json.loads reads about 1,000 levels: deep enough for a later walk (a 200-deep Fn::If,
    a comparison, a lockfile written back) to reach Python's recursion limit."""
    name, content, path, problem = DEEP_DOCUMENTS[case]
    (tmp_path / name).write_text(content)
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    paths = ["good.json"] if name.endswith(".lock.json") else [name, "good.json"]
    result = run_cli("check", *paths, "--format", "json", cwd=tmp_path)
    assert _logical_ids(_assert_one_error(result, path, problem)) == {"Orders"}


CONDITION_SHAPES = {
    # shape: (conditions, references to the next one, the last one, TS003's message or None)
    "a chain of 5,000 ending in a parameter": (5_000, 1, "param", "C0 (which depends on parameter Env)"),
    "a chain of 5,000 ending in a literal": (5_000, 1, "literal", None),
    "40 that each name the next twice": (40, 2, "param", "C0 (which depends on parameter Env)"),
}


@pytest.mark.parametrize("shape", sorted(CONDITION_SHAPES))
def test_conditions_that_chain_or_fan_out_are_evaluated_in_linear_time(tmp_path: Path, shape: str) -> None:
    """A chain of 5,000 conditions was a RecursionError reported as a template nested too
    deeply; 40 conditions that each named the next twice were 2**40 evaluations: check never
    ended. Each condition is now evaluated once, dependencies first, without recursion."""
    count, refs, last, message = CONDITION_SHAPES[shape]
    conditions: dict[str, Any] = {
        f"C{i}": {"Fn::And": [{"Condition": f"C{i + 1}"}] * refs + [True]} for i in range(count)
    }
    conditions[f"C{count}"] = {"Fn::Equals": [{"Ref": "Env"} if last == "param" else "prod", "prod"]}
    properties = {"DeletionProtectionEnabled": {"Fn::If": ["C0", True, False]}}
    template = {
        "Parameters": {"Env": {"Type": "String"}},
        "Conditions": conditions,
        "Resources": {"T": {**TABLE, "Properties": properties}},
    }
    (tmp_path / "t.json").write_text(json.dumps(template))
    run = _measured("check", "t.json", "--format", "json", cwd=tmp_path, timeout=30)
    assert run.result.returncode == 1 and _error_lines(run.result) == []  # TS001: no PITR
    ts003 = [f["message"] for f in json.loads(run.result.stdout)["findings"] if f["rule_id"] == "TS003"]
    expected = (
        "Deletion protection is not provably enabled: DeletionProtectionEnabled depends on "
        f"condition {message}."
    )
    assert ts003 == ([expected] if message else [])
    assert run.seconds < 5, run.seconds


def _flow_sequence(path: Path, items: int, item: str = "a") -> None:
    """A template whose Metadata is a flow sequence of items scalars: 3 bytes a node."""
    path.write_text(
        "Resources:\n  Flow:\n    Type: AWS::DynamoDB::Table\n    Properties: {KeySchema: []}\n"
        "Metadata: [" + f"{item}, " * (items - 1) + f"{item}]\n"
    )


def test_a_10_mb_yaml_flow_sequence_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """3.3 million nodes: 35.7 s and 1.76 GB before, exit 0 (the 10 MB JSON equivalent was
    refused in 0.33 s). Counted in libyaml's events, it is refused at node 200,001."""
    _flow_sequence(tmp_path / "flow.yaml", 3_329_990)
    assert 9_900_000 < (tmp_path / "flow.yaml").stat().st_size < 10 * 1024 * 1024
    problem = "invalid YAML: the document has more than 200,000 nodes"
    run = _checked_beside_good(tmp_path, "flow.yaml", problem, timeout=60)
    assert run.seconds < 2 and run.peak_mb < 200, (run.seconds, run.peak_mb)


def test_a_yaml_template_of_200000_nodes_is_read_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """The largest YAML template read: 9.4 MB (long scalars) in about 1.5 s and 130 MB here;
    the time bound is loose, as other processes share the machine."""
    _flow_sequence(tmp_path / "flow.yaml", 199_980, "x" * 45)  # and 13 nodes around them
    run = _measured("check", "flow.yaml", "--format", "json", cwd=tmp_path, timeout=60)
    assert run.result.returncode == 1 and _error_lines(run.result) == []
    assert _logical_ids(json.loads(run.result.stdout)) == {"Flow"}
    assert run.seconds < 6 and run.peak_mb < 200, (run.seconds, run.peak_mb)
