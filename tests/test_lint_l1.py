"""`tablesafe lint` on what it used to pass in silence: L1 tables (CfnTable, CfnGlobalTable),
policies and suppressions written after a table's call, and construct libraries that make
their own tables. The Python L1 app is synthesized once, in this process, so `tablesafe
check` on its template and `tablesafe lint` on its source can be compared."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import JSII_QUIET, git

from tablesafe.config import Config
from tablesafe.lint import lint_files
from tablesafe.model import Report
from tablesafe.remediation import of_finding
from tablesafe.source import read_source

RunCli = Callable[..., subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "source"
TABLE_RULES = ("TS001", "TS003", "TS004", "TS007")

L1_FINDINGS = {
    ("TS001", "Bare", None, False),
    ("TS003", "Bare", None, False),
    ("TS004", "Bare", None, False),  # no DeletionPolicy: CloudFormation deletes
    ("TS007", "ShortRecovery", None, False),  # cfn_options set both policies to RETAIN
    ("TS004", "HalfRetained", None, False),  # UpdateReplacePolicy still unset
    ("TS007", "HalfRetained", None, False),  # a camelCase dict, read as the L1 reads it
    ("TS003", "Cache", None, True),  # suppress(cache, "TS003", ...)
    ("TS001", "Scratch", None, True),  # add_metadata("tablesafe", ...) on the L1
    ("TS003", "Scratch", None, False),
    ("TS004", "Scratch", None, False),  # its suppression's reason is too short
    ("TS004", "Global", "us-east-1", False),
    ("TS001", "Global", "eu-west-1", False),  # per replica, no inheritance
    ("TS004", "Destroyed", None, False),  # an L2 whose apply_removal_policy(DESTROY) counts
    ("TS003", "Carts", None, True),  # Metadata of the L2's CfnTable (node.default_child)
    ("TS003", "Sessions", None, False),  # construct metadata: never in the template
}
"""l1.py: what lint and check both report ("SnakeCaseDict" is Python only: l1.ts has "PitrOff")."""


def lint(*names: str) -> Report:
    return lint_files([str(FIXTURES / name) for name in names], Config())


def outcome(report: Report) -> set[tuple[str, str | None, str | None, bool]]:
    """(rule id, construct id, replica region, suppressed) of every finding."""
    return {
        (f.rule.id, f.table.construct_path, f.table.replica_region, f.suppressed) for f in report.findings
    }


def message(report: Report, rule_id: str, table: str) -> str:
    return next(f.message for f in report.findings if (f.rule.id, f.table.construct_path) == (rule_id, table))


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


# --- L1 tables ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "own_table"), [("l1.py", "SnakeCaseDict"), ("l1.ts", "PitrOff")])
def test_l1_tables_policies_and_suppressions(name: str, own_table: str) -> None:
    report = lint(name)
    assert outcome(report) == {*L1_FINDINGS, ("TS001", own_table, None, False)}
    assert not report.errors and not report.notices
    assert {t.resource_type for t in report.tables if t.construct_path == "Global"} == {
        "AWS::DynamoDB::GlobalTable"
    }
    assert "DeletionPolicy is not set, which CloudFormation treats as Delete" in message(
        report, "TS004", "Bare"
    )
    assert "suppression ignored: a reason of at least 10 characters" in message(report, "TS004", "Scratch")
    assert "construct metadata (on the construct's node) never reaches the template" in message(
        report, "TS003", "Sessions"
    )
    reasons = {f.table.construct_path: f.suppression_reason for f in report.findings if f.suppressed}
    assert reasons["Cache"] == "rebuilt from the event log in minutes"


def test_l1_fixes_name_the_l1() -> None:
    """A finding on a CfnTable shows CloudFormation's prop and the removal-policy call, not
    the L2's props."""
    report = lint("l1.py", "l1.ts")
    fixes = {
        (f.rule.id, f.table.file.rsplit(".", 1)[-1]): of_finding(f)
        for f in report.findings
        if f.table.construct_path == "Bare"
    }
    assert "dynamodb.CfnTable(self, 'Bare', ...)" in fixes[("TS003", "py")].cdk_python
    assert "deletion_protection_enabled=True" in fixes[("TS003", "py")].cdk_python
    assert "deletionProtectionEnabled: true" in fixes[("TS003", "ts")].cdk_typescript
    # an unassigned L1: reached from the call's scope, right after the call
    assert (
        "self.node.find_child('Bare').apply_removal_policy(RemovalPolicy.RETAIN)"
        in fixes[("TS004", "py")].cdk_python
    )
    assert "right after dynamodb.CfnTable(self, 'Bare', ...)" in fixes[("TS004", "py")].cdk_python
    assert (
        '(this.node.findChild("Bare") as dynamodb.CfnTable).applyRemovalPolicy('
        in fixes[("TS004", "ts")].cdk_typescript
    )
    assert "CfnTable.PointInTimeRecoverySpecificationProperty" in fixes[("TS001", "py")].cdk_python


def test_python_l1_dicts_keep_their_keys() -> None:
    """aws-cdk-lib reads an L1's dict as it is: snake_case keys are lost (PITR stays off),
    as `tablesafe check` sees in the template."""
    message_ = message(lint("l1.py"), "TS001", "SnakeCaseDict")
    assert "PointInTimeRecoverySpecification has no PointInTimeRecoveryEnabled" in message_


def test_l1_replacing_props_in_template_shape() -> None:
    [safe] = [t for t in lint("l1.ts").tables if t.construct_path == "Safe"]
    assert safe.replacing_props == {
        "KeySchema": [
            {"AttributeName": "orderId", "KeyType": "HASH"},
            {"AttributeName": "createdAt", "KeyType": "RANGE"},
        ],
        "TableName": "orders",
        "AttributeDefinitions": [
            {"AttributeName": "orderId", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "N"},
        ],
    }
    assert safe.table_name == "orders" and safe.cdk_props is None  # no L2 props: no TS002


L1_ORDERS = """from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb


def orders(scope):
    table = dynamodb.Cfn{kind}(
        scope,
        "Orders",
        table_name="{name}",
        key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="{key}", key_type="HASH")],
        attribute_definitions=[{{"attributeName": "{key}", "attributeType": "S"}}],
        {protection}
    )
    table.apply_removal_policy(RemovalPolicy.RETAIN)
"""
PROTECTED = {
    "Table": "point_in_time_recovery_specification={'pointInTimeRecoveryEnabled': True}, "
    "deletion_protection_enabled=True,",
    "GlobalTable": "replicas=[{'region': 'us-east-1', 'pointInTimeRecoverySpecification': "
    "{'pointInTimeRecoveryEnabled': True}, 'deletionProtectionEnabled': True}],",
}


def l1_orders(kind: str = "Table", name: str = "orders", key: str = "orderId") -> str:
    return L1_ORDERS.format(kind=kind, name=name, key=key, protection=PROTECTED[kind])


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("Table", {"key": "id"}, "KeySchema changes from orderId:S (HASH) to id:S (HASH)"),
        ("GlobalTable", {"name": "orders-v2"}, "TableName changes from orders to orders-v2"),
    ],
)
def test_l1_replacement_against_git(
    tmp_path: Path, run_cli: RunCli, kind: str, change: dict[str, str], expected: str
) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "stack.py").write_text(l1_orders(kind))
    git(tmp_path, "add", "stack.py")
    git(tmp_path, "commit", "-q", "-m", "orders")
    assert run_cli("lint", "stack.py", cwd=tmp_path).returncode == 0  # safe and unchanged
    (tmp_path / "stack.py").write_text(l1_orders(kind, **change))
    result = run_cli("lint", "stack.py", "--format", "json", cwd=tmp_path)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule_id"] == "TS006"
    assert expected in finding["message"], finding["message"]


def test_policies_follow_the_last_table_assigned_to_the_name(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "stack.py",
        "from aws_cdk import CfnDeletionPolicy, RemovalPolicy\n"
        "from aws_cdk import aws_dynamodb as ddb\n"
        "def tables(scope, policy, prod):\n"
        '    t = ddb.CfnTable(scope, "First", deletion_protection_enabled=True)\n'
        "    t.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)\n"
        '    t = ddb.CfnTable(scope, "Second", deletion_protection_enabled=True)\n'
        "    t.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN\n"
        '    v = ddb.CfnTable(scope, "Variable", deletion_protection_enabled=True)\n'
        "    v.apply_removal_policy(policy)\n"
        '    c = ddb.CfnTable(scope, "Conditional", deletion_protection_enabled=True)\n'
        "    if prod:\n"
        "        c.apply_removal_policy(RemovalPolicy.RETAIN)\n"
        "    if prod:\n"
        '        inside = ddb.CfnTable(scope, "Inside", deletion_protection_enabled=True)\n'
        "        inside.apply_removal_policy(RemovalPolicy.RETAIN)\n"
        '    other = ddb.CfnTable(scope, "Other", deletion_protection_enabled=True)\n'
        "    t.apply_removal_policy(RemovalPolicy.RETAIN)  # t is Second now\n",
    )
    report = lint_files([source], Config())
    assert {f.table.construct_path for f in report.findings if f.rule.id == "TS004"} == {"Other"}
    [notice] = report.notices
    assert "Variable (line 8): TS004 (depends on `policy`, which lint does not evaluate)" in notice.message
    assert "Conditional (line 10): TS004 (depends on `if prod:`" in notice.message


def test_typescript_policies_and_variables(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "stack.ts",
        "import * as cdk from 'aws-cdk-lib';\n"
        "import { CfnTable } from 'aws-cdk-lib/aws-dynamodb';\n"
        "class S {\n"
        "  orders: CfnTable;\n"
        "  constructor(prod: boolean) {\n"
        "    this.orders = new CfnTable(this, 'Orders', { deletionProtectionEnabled: true }) as CfnTable;\n"
        "    this.orders.cfnOptions.deletionPolicy = cdk.CfnDeletionPolicy.RETAIN;\n"
        "    (this.orders as CfnTable).cfnOptions.updateReplacePolicy = cdk.CfnDeletionPolicy.RETAIN;\n"
        "    let events: CfnTable = new CfnTable(this, 'Events', { deletionProtectionEnabled: true });\n"
        "    switch (stage) {\n"
        "      case 'prod': events.applyRemovalPolicy(cdk.RemovalPolicy.RETAIN); break;\n"
        "    }\n"
        "    const logs = new CfnTable(this, 'Logs', { deletionProtectionEnabled: true });\n"
        "    logs.cfnOptions.deletionPolicy = cdk.CfnDeletionPolicy.DELETE;\n"
        "  }\n"
        "}\n",
    )
    report = lint_files([source], Config())
    assert {(f.rule.id, f.table.construct_path) for f in report.findings if f.rule.id == "TS004"} == {
        ("TS004", "Logs")
    }
    assert "DeletionPolicy is Delete; UpdateReplacePolicy is not set" in message(report, "TS004", "Logs")
    [notice] = report.notices
    assert "Events (line 9): TS004 (depends on `switch (stage) {`" in notice.message


# --- suppressions written in code -------------------------------------------------------------

PY_SUPPRESSIONS = """from aws_cdk import aws_dynamodb as ddb
import tablesafe.cdk_aspects as ta
from tablesafe.cdk_aspects import suppress as waive

def tables(scope, why):
    ta.suppress(ddb.CfnTable(scope, "InPlace"), "deletion-protection-missing", reason="a slug works too")
    kept = ddb.CfnTable(scope, "Expired")
    waive(kept, "TS003", reason="until the migration is done", expires="2000-01-01")
    vague = ddb.CfnTable(scope, "Vague")
    waive(vague, "TS003", reason=why)
    typo = ddb.CfnTable(scope, "Typo")
    waive(typo, "TS999", reason="not a rule at all, sadly")
"""
TS_SUPPRESSIONS = """import * as tablesafe from '@tablesafe/cdk';
import { suppress as waive } from '@tablesafe/cdk';
import * as ddb from 'aws-cdk-lib/aws-dynamodb';

tablesafe.suppress(new ddb.CfnTable(this, 'InPlace', {}), 'deletion-protection-missing', 'a slug works too');
const kept = new ddb.CfnTable(this, 'Expired', {});
waive(kept, 'TS003', 'until the migration is done', '2000-01-01');
const vague = new ddb.CfnTable(this, 'Vague', {});
waive(vague, 'TS003', why);
const typo = new ddb.CfnTable(this, 'Typo', {});
typo.addMetadata('tablesafe', { suppress: [{ id: 'TS999', reason: 'not a rule at all, sadly' }] });
"""


@pytest.mark.parametrize(("name", "text"), [("stack.py", PY_SUPPRESSIONS), ("stack.ts", TS_SUPPRESSIONS)])
def test_suppression_calls_follow_the_metadata_rules(tmp_path: Path, name: str, text: str) -> None:
    source = write(tmp_path, name, text)
    report = lint_files([source], Config())
    ts003 = {f.table.construct_path: f for f in report.findings if f.rule.id == "TS003"}
    assert ts003["InPlace"].suppressed and ts003["InPlace"].suppression_reason == "a slug works too"
    assert not ts003["Expired"].suppressed
    assert "suppression expired on 2000-01-01" in ts003["Expired"].message
    assert not ts003["Vague"].suppressed
    assert "suppression ignored: its reason depends on `why`, which lint does not evaluate" in (
        ts003["Vague"].message
    )
    assert not ts003["Typo"].suppressed
    [error] = report.errors
    assert str(error).startswith(f"{source}: line 1") and "'TS999' is not a tablesafe rule id" in str(error)


# --- construct libraries ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["libraries.py", "libraries.ts", "library_only.py", "library_only.ts"])
def test_construct_libraries_get_one_notice(name: str) -> None:
    report = lint(name)
    assert report.findings == [] and not report.errors
    [notice] = report.notices
    assert notice.level == "info"
    assert notice.message.startswith(f"{FIXTURES / name}: imports ")
    assert "whose constructs can create tables that lint does not see" in notice.message
    assert "`tablesafe check` judges them on the synthesized template" in notice.message
    assert "iot" not in notice.message  # a comment or a string that names a library is not an import
    assert report.summary()["tables"] == (1 if name.startswith("libraries") else 0)


def test_library_notice_names_each_module_once() -> None:
    source = read_source(FIXTURES / "libraries.ts", (FIXTURES / "libraries.ts").read_text())
    assert source.libraries == (
        "@aws-solutions-constructs/aws-lambda-dynamodb",
        "@aws-solutions-constructs/aws-apigateway-dynamodb",
    )


def test_library_only_file_exits_0(run_cli: RunCli) -> None:
    result = run_cli("lint", FIXTURES / "library_only.py", "--format", "json")
    assert result.returncode == 0, result.stderr
    [notice] = json.loads(result.stdout)["notices"]
    assert "aws_solutions_constructs.aws_lambda_dynamodb" in notice["message"]


# --- bounded ----------------------------------------------------------------------------------


def _seconds_to_read(suffix: str, tables: int) -> float:
    """Every table assigned to the same name, with a policy and a suppression after it."""
    if suffix == ".py":
        head = "from aws_cdk import aws_dynamodb as ddb\nfrom tablesafe.cdk_aspects import suppress\n"
        table = (
            "t = ddb.CfnTable(self, 'T{i}')\nt.apply_removal_policy(RemovalPolicy.RETAIN)\n"
            "suppress(t, 'TS003', reason='a long enough reason')\n"
        )
    else:
        head = (
            "import * as ddb from 'aws-cdk-lib/aws-dynamodb';\nimport { suppress } from '@tablesafe/cdk';\n"
        )
        table = (
            "{{ const t = new ddb.CfnTable(this, 'T{i}', {{}});\n"
            "t.applyRemovalPolicy(RemovalPolicy.RETAIN);\nsuppress(t, 'TS003', 'a long enough reason'); }}\n"
        )
    text = head + "".join(table.format(i=i) for i in range(tables))
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        source = read_source(Path(f"many{suffix}"), text)
        best = min(best, time.perf_counter() - start)
    assert len(source.calls) == tables
    assert all(len(call.overrides) == len(call.suppressions) == 1 for call in source.calls)
    return best


@pytest.mark.parametrize("suffix", [".py", ".ts"])
def test_following_statements_stays_linear(suffix: str) -> None:
    """Four times the tables, each with statements after it, well under sixteen times as
    long (the best of two runs: other processes share the machine)."""
    small, large = _seconds_to_read(suffix, 1_000), _seconds_to_read(suffix, 4_000)
    assert large < 8 * small + 0.2, (small, large)


# --- lint and check agree on a synthesized L1 app ----------------------------------------------


@pytest.fixture(scope="module")
def l1_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/source/l1.py synthesized once, in this process, with aws-cdk-lib."""
    os.environ.update(JSII_QUIET)
    import aws_cdk as cdk

    spec = importlib.util.spec_from_file_location("tablesafe_l1_fixture_app", FIXTURES / "l1.py")
    assert spec is not None and spec.loader is not None
    app_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app_module)
    out = tmp_path_factory.mktemp("l1-app") / "cdk.out"
    app = cdk.App(outdir=str(out))
    app_module.L1Tables(app, "L1", env=cdk.Environment(account="111111111111", region="us-east-1"))
    app.synth()
    return out


def _construct_id(path: str) -> str:
    """The construct id in check's construct path (Stack/Id, or Stack/Id/Resource for an
    L2) and lint's (the id itself)."""
    return path.removesuffix("/Resource").rpartition("/")[2]


def _verdicts(findings: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """(rule, construct id, replica region of a per-replica rule, suppressed) of the table rules."""
    return {
        (
            f["rule_id"],
            _construct_id(f["construct_path"]),
            f["replica_region"] if f["rule_id"] in ("TS001", "TS003", "TS007") else None,
            f["suppressed"],
        )
        for f in findings
        if f["rule_id"] in TABLE_RULES
    }


@pytest.mark.cdk
def test_lint_and_check_agree_on_the_l1_app(l1_assembly: Path, run_cli: RunCli) -> None:
    checked = run_cli("check", l1_assembly, "--format", "json")
    linted = run_cli("lint", FIXTURES / "l1.py", "--format", "json")
    assert checked.returncode == linted.returncode == 1, checked.stderr + linted.stderr
    check_findings = json.loads(checked.stdout)["findings"]
    lint_findings = json.loads(linted.stdout)["findings"]
    assert _verdicts(lint_findings) == _verdicts(check_findings)
    expected = {
        (rule, table, region if rule != "TS004" else None, s) for rule, table, region, s in L1_FINDINGS
    }
    assert _verdicts(check_findings) == {*expected, ("TS001", "SnakeCaseDict", None, False)}
    check_reasons, lint_reasons = (
        {
            (f["rule_id"], _construct_id(f["construct_path"])): f["suppression_reason"]
            for f in found
            if f["suppressed"]
        }
        for found in (check_findings, lint_findings)
    )
    assert check_reasons == lint_reasons
    assert check_reasons[("TS003", "Cache")] == "rebuilt from the event log in minutes"
    both_say_why = [f["message"] for f in check_findings + lint_findings if f["rule_id"] == "TS004"]
    assert sum("a reason of at least 10 characters" in m for m in both_say_why) == 2
