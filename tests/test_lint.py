"""`tablesafe lint`: CDK source files judged from their literal props, and a Table swapped for
a TableV2 caught against a real git repository."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git, imported_top_modules

from tablesafe.config import Config, Exemption
from tablesafe.lint import lint_files
from tablesafe.model import Report
from tablesafe.source.calls import NonLiteral, Props, build_props, camel
from tablesafe.source.typescript_cdk import parse_typescript

RunCli = Callable[..., subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "source"
HEAVY = ("boto3", "botocore", "aws_cdk", "jsii", "checkov", "cfnlint")


def lint(*names: str, config: Config | None = None) -> Report:
    return lint_files([str(FIXTURES / name) for name in names], config or Config())


def found(report: Report) -> set[tuple[str, str | None, str | None]]:
    """(rule id, construct id, replica region) of the unsuppressed findings."""
    return {
        (f.rule.id, f.table.construct_path, f.table.replica_region)
        for f in report.findings
        if not f.suppressed
    }


# --- what is detected ------------------------------------------------------------------------


def test_python_import_aliases() -> None:
    report = lint("aliases.py")
    assert found(report) == {
        ("TS002", "ViaFromImportAs", None),  # the deprecated prop True enables PITR: no TS001
        ("TS001", "ViaImportAs", None),
        ("TS004", "ViaDirectAlias", None),
        ("TS007", "ViaModule", None),  # a dict literal for the specification
        ("TS004", "ViaDirect", None),  # SNAPSHOT
        ("TS003", "ViaRootModule", None),  # RETAIN_ON_UPDATE_OR_DELETE is a retaining policy
    }
    assert report.summary()["tables"] == 6
    lines = {f.table.construct_path: f.table.line for f in report.findings}
    assert lines["ViaImportAs"] == 18  # the first line of a multi-line call
    assert lines["ViaRootModule"] == 36
    assert not report.errors
    assert not report.notices


def test_typescript_import_aliases() -> None:
    report = lint("aliases.ts")
    assert found(report) == {
        ("TS002", "ViaNamespace", None),
        ("TS001", "ViaNamed", None),
        ("TS007", "ViaNamedAlias", None),
        ("TS004", "ViaLibraryMember", None),  # a template literal id
        ("TS003", "ViaLibraryNamespace", None),  # through `satisfies`
        ("TS004", "ViaLibraryNamespace", None),
        ("TS001", "ViaImportRequire", None),
    }
    assert {f.table.file for f in report.findings} == {str(FIXTURES / "aliases.ts")}
    assert {f.table.source.value for f in report.findings} == {"source"}


@pytest.mark.parametrize("name", ["clean.py", "clean.ts"])
def test_comments_strings_and_other_tables_are_not_findings(name: str) -> None:
    report = lint(name)
    assert report.findings == []
    assert report.summary()["tables"] == 2  # Orders and Profiles; not NotCdk, not the mentions
    assert not report.errors and not report.notices


def test_tsx_calls_count_and_jsx_text_does_not() -> None:
    report = lint("component.tsx")
    assert found(report) == {("TS002", "FromTsx", None)}
    assert report.summary()["tables"] == 1


def test_tablev2_replicas_inherit_unless_they_override() -> None:
    report = lint("replicas.py")
    assert found(report) == {
        ("TS003", "Global", "eu-west-1"),
        ("TS001", "Global", "ap-south-1"),
        ("TS002", "Global", None),  # sa-east-1 uses the deprecated prop; per resource
        ("TS003", "ProtectedReplicasOnly", None),  # the replica in the stack's region
    }
    resource_types = {f.table.resource_type for f in report.findings}
    assert resource_types == {"AWS::DynamoDB::GlobalTable"}
    assert "TS002" in {f.rule.id for f in report.findings if "sa-east-1" in f.message}
    [notice] = report.notices
    assert "UnknownReplicas (replica ?)" in notice.message and "TS003" in notice.message


def test_non_literal_props_are_not_guessed_python() -> None:
    report = lint("nonliteral.py")
    # Only the deprecated prop, which is written in the source whatever its value.
    assert found(report) == {("TS002", None, None)}
    [notice] = report.notices
    assert "AllInKwargs (line 11): TS001, TS003, TS004, TS007 (depends on `**props`" in notice.message
    assert "TS003 (depends on `stage == 'prod'`" in notice.message
    assert "TS004 (depends on `policy`" in notice.message
    assert report.summary()["tables"] == 4


def test_non_literal_props_are_not_guessed_typescript() -> None:
    report = lint("nonliteral.ts")
    # A spread before a prop cannot override it; a spread after one can.
    assert found(report) == {("TS002", None, None), ("TS003", "SpreadFirst", None)}
    [notice] = report.notices
    assert "AllInAVariable (line 9): TS001, TS003, TS004, TS007 (depends on `props`" in notice.message
    assert "TS004 (depends on `props.removalPolicy`" in notice.message
    assert "table (line 16): TS001, TS003, TS004, TS007 (depends on `...props`" in notice.message


def test_spread_semantics() -> None:
    spread = NonLiteral("...rest")
    before = build_props([("a", 1), (None, spread), ("b", 2)], spread_overrides=True)
    assert before == Props({"a": spread, "b": 2}, spread)
    keywords = build_props([("point_in_time_recovery", True), (None, spread)], spread_overrides=False)
    assert keywords.get("pointInTimeRecovery") is True
    assert keywords.get("deletionProtection") == spread
    assert Props({}).get("deletionProtection") is None
    assert camel("point_in_time_recovery_specification") == "pointInTimeRecoverySpecification"


def test_typescript_parser_limits() -> None:
    """What the TypeScript reader does not follow: a CommonJS require() and a re-export."""
    source = """
        const dynamodb = require('aws-cdk-lib/aws-dynamodb');
        import { Table } from './tables';  // which re-exports aws-dynamodb's Table
        new dynamodb.Table(this, 'ViaRequire', { pointInTimeRecovery: true });
        new Table(this, 'ViaReexport', { pointInTimeRecovery: true });
    """
    assert parse_typescript(source) == []


def test_config_exemptions_match_the_construct_id() -> None:
    exemption = Exemption(frozenset({"TS004"}), {"construct_path": "Via*"}, "scratch tables in dev", None)
    report = lint("aliases.py", config=Config(exemptions=(exemption,)))
    suppressed = {(f.rule.id, f.table.construct_path) for f in report.findings if f.suppressed}
    assert suppressed == {("TS004", "ViaDirectAlias"), ("TS004", "ViaDirect")}


def test_suppression_comments(tmp_path: Path) -> None:
    source = tmp_path / "stack.py"
    source.write_text(
        "from aws_cdk import aws_dynamodb as ddb\n"
        "# tablesafe: ignore[TS003, TS001] a cache, rebuilt from the event log (expires 2999-01-01)\n"
        'ddb.Table(self, "Cache")\n'
        'ddb.Table(self, "Short")  # tablesafe: ignore[TS003] cache\n'
        "ddb.Table(\n"
        '    self, "Late",\n'
        "    deletion_protection=False,  # tablesafe: ignore[TS003] turned on by the migration job\n"
        ")\n"
        'ddb.Table(self, "Typo")  # tablesafe: ignore[TS999] not a rule at all\n'
        'ddb.Table(self, "Expired")  # tablesafe: ignore[TS003] until migrated (expires 2000-01-01)\n'
    )
    report = lint_files([str(source)], Config())
    outcome = {(f.rule.id, f.table.construct_path): f.suppression_reason for f in report.findings}
    assert outcome[("TS003", "Cache")] == "a cache, rebuilt from the event log"
    assert outcome[("TS001", "Cache")] == "a cache, rebuilt from the event log"
    assert outcome[("TS003", "Short")] is None
    assert outcome[("TS003", "Late")] == "turned on by the migration job"
    short = next(f for f in report.findings if f.table.construct_path == "Short" and f.rule.id == "TS003")
    assert "a reason of at least 10 characters is required" in short.message
    expired = next(f for f in report.findings if f.table.construct_path == "Expired" and f.rule.id == "TS003")
    assert not expired.suppressed and "suppression expired on 2000-01-01" in expired.message
    assert [str(e) for e in report.errors] == [
        f"{source}: line 9: tablesafe: ignore[TS999] names no tablesafe rule"
    ]


# --- bad input, through the command line ---------------------------------------------------


def test_bad_inputs_exit_2_and_the_rest_is_reported(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "latin1.py").write_bytes(b"from aws_cdk import aws_dynamodb\n# caf\xe9\n")
    (tmp_path / "template.json").write_text("{}")
    result = run_cli(
        "lint",
        FIXTURES / "syntax_error.py",
        FIXTURES / "syntax_error.ts",
        tmp_path / "missing.py",
        tmp_path / "latin1.py",
        tmp_path / "template.json",
        FIXTURES / "aliases.py",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"tablesafe: error: {tmp_path / 'missing.py'}: no such file or directory",
        f"tablesafe: error: {tmp_path / 'latin1.py'}: line 2: not UTF-8 text (byte 38)",
        f"tablesafe: error: {tmp_path / 'template.json'}: not a CDK source file "
        "(lint reads .cts, .mts, .py, .pyi, .ts, .tsx)",
        f"tablesafe: error: {FIXTURES / 'syntax_error.py'}: line 4: syntax error: '(' was never closed",
        f"tablesafe: error: {FIXTURES / 'syntax_error.ts'}: line 3: syntax error: unexpected "
        "`(this, 'Broken', { partitionKey: pk, ex…`",
    ]
    report = json.loads(result.stdout)
    assert len(report["findings"]) == 6  # aliases.py was still linted
    assert {f["line"] for f in report["findings"]} >= {17, 18}


def test_text_report_and_exit_codes(run_cli: RunCli) -> None:
    clean = run_cli("lint", FIXTURES / "clean.py", FIXTURES / "clean.ts")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No findings in 4 tables" in clean.stdout
    unsafe = run_cli("lint", FIXTURES / "aliases.py")
    assert unsafe.returncode == 1
    assert "TS004 removal-policy-not-retain ViaDirectAlias line 24" in unsafe.stdout
    assert run_cli("lint", FIXTURES / "aliases.py", "--fail-on", "never").returncode == 0


def test_lint_imports_no_heavy_library(tmp_path: Path) -> None:
    returncode, imported = imported_top_modules("lint", *FIXTURES.glob("*.*"), cwd=tmp_path)
    assert returncode == 2  # the syntax-error fixtures
    assert {"tablesafe", "tree_sitter"} <= imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


# --- TS005 / TS006 against git ----------------------------------------------------------------

ORDERS = """from aws_cdk import aws_dynamodb as dynamodb


class Stack:
    def __init__(self) -> None:
        dynamodb.{kind}(
            self,
            "{name}",
            partition_key=dynamodb.Attribute(name="{key}", type=dynamodb.AttributeType.STRING),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,{extra}
        )
"""
IMPORT_SOURCE = """
            import_source=dynamodb.ImportSourceSpecification(bucket=bucket, input_format=csv),"""


def orders(kind: str = "Table", name: str = "Orders", key: str = "orderId", extra: str = "") -> str:
    return ORDERS.format(kind=kind, name=name, key=key, extra=extra)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose first commit has stack.py with a safe Table "Orders"."""
    root = tmp_path / "app"
    root.mkdir()
    git(root, "init", "-q")
    (root / "stack.py").write_text(orders())
    git(root, "add", "stack.py")
    git(root, "commit", "-q", "-m", "orders")
    return root


def rule_ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [finding["rule_id"] for finding in json.loads(result.stdout)["findings"]]


def test_table_swapped_for_tablev2_against_head(repo: Path, run_cli: RunCli) -> None:
    (repo / "stack.py").write_text(orders("TableV2"))
    git(repo, "add", "stack.py")
    result = run_cli("lint", "stack.py", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule_id"] == "TS005"
    assert finding["file"] == "stack.py" and finding["line"] == 6
    assert finding["resource_type"] == "AWS::DynamoDB::GlobalTable"
    assert "Orders (HEAD:stack.py, matched by construct path) was a Table" in finding["message"]
    assert "Update of resource type is not permitted" in finding["message"]


def test_diff_base_an_earlier_commit(repo: Path, run_cli: RunCli) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "stack.py").write_text(orders("TableV2"))
    git(repo, "commit", "-q", "-am", "swap")
    assert rule_ids(run_cli("lint", "stack.py", "--format", "json", cwd=repo)) == []
    result = run_cli("lint", "stack.py", "--diff-base", first, "--format", "json", cwd=repo)
    assert rule_ids(result) == ["TS005"]
    assert f"{first}:stack.py" in json.loads(result.stdout)["findings"][0]["message"]


def test_renamed_construct_is_not_a_swap(repo: Path, run_cli: RunCli) -> None:
    (repo / "stack.py").write_text(orders("TableV2", name="OrdersV2"))
    assert rule_ids(run_cli("lint", "stack.py", "--format", "json", cwd=repo)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"key": "id"}, "KeySchema changes from orderId:S (HASH) to id:S (HASH)"),
        ({"extra": IMPORT_SOURCE}, "ImportSourceSpecification changes from none to"),
    ],
)
def test_replacing_changes(repo: Path, run_cli: RunCli, change: dict[str, str], expected: str) -> None:
    (repo / "stack.py").write_text(orders(**change))
    result = run_cli("lint", "stack.py", "--format", "json", cwd=repo)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule_id"] == "TS006"
    assert expected in finding["message"]


def test_typescript_swap_and_a_new_file(repo: Path, run_cli: RunCli) -> None:
    table = "import * as ddb from 'aws-cdk-lib/aws-dynamodb';\nnew ddb.{kind}(this, 'Events', {{}});\n"
    (repo / "lib").mkdir()
    (repo / "lib" / "events.ts").write_text(table.format(kind="Table"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "events")
    (repo / "lib" / "events.ts").write_text(table.format(kind="TableV2"))
    (repo / "lib" / "new.ts").write_text(table.format(kind="TableV2"))  # not in HEAD: no baseline
    result = run_cli("lint", "lib/events.ts", "lib/new.ts", "--format", "json", cwd=repo)
    swaps = [f["file"] for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "TS005"]
    assert swaps == ["lib/events.ts"]
    assert result.stderr == ""


def test_git_problems(repo: Path, tmp_path: Path, run_cli: RunCli) -> None:
    unknown = run_cli("lint", "stack.py", "--diff-base", "no-such-branch", cwd=repo)
    assert unknown.returncode == 2
    assert "error: git: --diff-base no-such-branch: no such revision" in unknown.stdout
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "stack.py").write_text(orders("TableV2"))
    assert (
        run_cli("lint", "stack.py", cwd=outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}).returncode
        == 0
    )
    explicit = run_cli(
        "lint", "stack.py", "--diff-base", "HEAD", "--format", "json",
        cwd=outside, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)},
    )  # fmt: skip
    assert explicit.returncode == 2
    assert "is not in a git repository" in explicit.stderr
    empty = tmp_path / "fresh"
    empty.mkdir()
    git(empty, "init", "-q")
    (empty / "stack.py").write_text(orders("TableV2"))
    assert run_cli("lint", "stack.py", cwd=empty).returncode == 0  # no commit yet: all new
