"""Each finding's fix is rendered for that finding: its own construct id, logical ID and
name, no other table's, in the app's language, and no value can break out of a snippet."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import RunCli, docs_text

from tablesafe.config import Config
from tablesafe.engine import build_report
from tablesafe.loader import load_paths
from tablesafe.model import (
    GLOBAL_TABLE,
    TABLE,
    Finding,
    Remediation,
    Severity,
    Source,
    TableChange,
    TableDescription,
)
from tablesafe.remediation import (
    RemediationContext,
    app_language,
    for_reader,
    of_finding,
    of_rule,
    python_string,
    typescript_string,
)
from tablesafe.reports._common import snippets
from tablesafe.rules import RULES_BY_ID

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "fixtures" / "sample-cdk.out"
SOURCES = REPO / "fixtures" / "source"
HOSTILE = "O'Brien\"\n;touch${IFS}marker;#`$(id)`"
"""Quotes, a newline, a command that would create ./marker, command substitutions; no '/',
since a construct id is one segment of its path."""


def _fix_text(remediation) -> str:
    return "\n".join(
        (remediation.summary, remediation.cdk_python, remediation.cdk_typescript, remediation.cli)
    )


def _construct_ids(report: dict) -> set[str]:
    return {
        (f["construct_path"] or "").removesuffix("/Resource").rsplit("/", 1)[-1]
        for f in report["findings"]
        if f["construct_path"]
    }


def test_check_fixes_name_their_own_table_only(run_cli: RunCli) -> None:
    ids = _construct_ids(json.loads(run_cli("check", SAMPLE, "--format", "json").stdout))
    assert len(ids) >= 3
    for finding in build_report(load_paths([str(SAMPLE)]), Config()).findings:
        own = finding.table.construct_path.removesuffix("/Resource").rsplit("/", 1)[-1]
        fix = _fix_text(of_finding(finding))
        assert repr(own) in fix or own in of_finding(finding).summary, (finding.rule.id, own)
        assert not any(f"'{other}'" in fix for other in ids - {own}), (finding.rule.id, own)
        assert "OrdersA9B65338" not in fix  # the example ID the fixes once carried


@pytest.mark.parametrize(
    ("source", "table", "shown", "hidden"),
    [
        ("aliases.py", "ViaImportAs", "CDK Python:", "CDK TypeScript:"),
        ("aliases.ts", "ViaNamespace", "CDK TypeScript:", "CDK Python:"),
    ],
)
def test_lint_fixes_are_in_the_files_language(
    run_cli: RunCli, source: str, table: str, shown: str, hidden: str
) -> None:
    # wide enough that no comment of a snippet is wrapped, whatever the terminal's COLUMNS
    result = run_cli("lint", SOURCES / source, "--diff-base", "", cwd=REPO, env={"COLUMNS": "200"})
    assert shown in result.stdout and hidden not in result.stdout
    assert f"(self, '{table}', ...)" in result.stdout or f'(this, "{table}", {{ ... }})' in result.stdout


def test_language_comes_from_the_cdk_metadata_analytics() -> None:
    import base64
    import gzip

    def metadata(runtime: str) -> dict:
        data = gzip.compress(f"2.275.0!aws-cdk-lib.{{Stack,aws_dynamodb.{{Table}}}},{runtime}".encode())
        return {"Properties": {"Analytics": "v2:deflate64:" + base64.b64encode(data).decode()}}

    assert app_language(metadata("Python/3.11.7!jsii-runtime.Runtime")) == "python"
    assert app_language(metadata("node.js/v20.20.2!jsii-runtime.Runtime")) == "typescript"
    assert app_language(metadata("Java/17.0.1!jsii-runtime.Runtime")) is None
    assert app_language({"Properties": {"Analytics": "v2:deflate64:!!not base64"}}) is None
    bomb = gzip.compress(b"x" * (64 << 20))  # 64 MB of nothing: decompression stops at 1 MB
    assert (
        app_language({"Properties": {"Analytics": "v2:deflate64:" + base64.b64encode(bomb).decode()}}) is None
    )


OWN_LITERALS = {"TS008": ("tablesafe:drill", "monthly")}
"""String literals a rule's CDK snippet writes itself (the tag ScheduledRestoreDrill selects by)."""


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_hostile_names_stay_inside_each_snippet(rule_id: str, tmp_path: Path) -> None:
    """A construct id and table name full of quotes, newlines and shell syntax: the Python
    snippet parses with the id as one string, the CLI command runs it as one argument."""
    rule = RULES_BY_ID[rule_id]
    table = TableDescription(
        GLOBAL_TABLE,
        source=Source.TEMPLATE,
        stack="Shop",
        logical_id="Products1A2B3C4D",
        construct_path=f"Shop/{HOSTILE}/Resource",
        table_name=HOSTILE,
        replica_region="eu-west-1",
    )
    finding = Finding(rule, table, Severity.ERROR, "m")
    fix = rule.remediate(RemediationContext.for_finding(finding))
    # a props fragment ends in a comma: it parses as the arguments of a call
    code = fix.cdk_python
    tree = ast.parse(f"f(\n{code}\n)" if code.rstrip().endswith(",") else code)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert strings <= {HOSTILE, "eu-west-1", *OWN_LITERALS.get(rule_id, ())}
    command = fix.cli.split(" ", 1)[0]
    if command in ("aws", "tablesafe"):
        marker = tmp_path / "marker"
        stub = tmp_path / "bin" / command
        stub.parent.mkdir()
        stub.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done >> "$ARGS"\n')
        stub.chmod(0o755)
        env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "ARGS": str(tmp_path / "args")}
        subprocess.run(["bash", "-c", fix.cli], env=env, cwd=tmp_path, check=True, timeout=30)
        assert not marker.exists()
        assert HOSTILE in (tmp_path / "args").read_text().split("\0")


def test_string_literals_round_trip() -> None:
    assert ast.literal_eval(python_string(HOSTILE)) == HOSTILE
    assert json.loads(typescript_string(HOSTILE)) == HOSTILE


def test_live_fix_is_the_cli_command_for_the_table() -> None:
    live = TableDescription(
        TABLE,
        source=Source.LIVE,
        table_name="orders",
        table_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
    )
    finding = Finding(RULES_BY_ID["TS003"], live, Severity.ERROR, "off")
    fix = of_finding(finding)
    assert (
        fix.cli
        == "aws dynamodb update-table --table-name orders --region eu-west-1 --deletion-protection-enabled"
    )
    assert fix.cdk_python == fix.cdk_typescript == ""  # no stack owns it: no CDK code
    pitr = of_finding(Finding(RULES_BY_ID["TS001"], live, Severity.ERROR, "off"))
    assert "update-continuous-backups --table-name orders --region eu-west-1" in pitr.cli


def test_for_reader_keeps_the_cli_for_replacements_only() -> None:
    context = RemediationContext(construct_id="Products", stack="Shop", language="python")
    fix = RULES_BY_ID["TS006"].remediate(context)
    kept = for_reader(fix, context, cdk_commands=True)
    assert kept.cdk_typescript == "" and kept.cdk_python and kept.cli
    assert for_reader(fix, context, cdk_commands=False).cli == ""


def _table(**fields) -> TableDescription:
    defaults = {"resource_type": TABLE, "stack": "Shop", "logical_id": "Orders1A2B3C4D"}
    return TableDescription(**{**defaults, **fields})


def _code(rule_id: str, table: TableDescription, change: TableChange | None = None) -> Remediation:
    return of_finding(Finding(RULES_BY_ID[rule_id], table, Severity.ERROR, "m", change=change))


AUDIT_LOG = _table(construct_path="Shop/AuditLog/Resource", logical_id="AuditLogA5B7094E")
TABLES = {
    "template Table": _table(construct_path="Shop/Orders/Resource"),
    "template in a construct": _table(construct_path="Shop/Group/Orders/Resource"),
    "template in a stage": _table(stack="Prod-Svc", construct_path="Prod/Svc/Orders/Resource"),
    "template CfnTable": _table(construct_path="Shop/Legacy"),
    "template TableV2 replica": _table(
        resource_type=GLOBAL_TABLE, construct_path="Shop/Orders/Resource", replica_region="eu-west-1"
    ),
    "template TableV2 primary": _table(
        resource_type=GLOBAL_TABLE,
        construct_path="Shop/Orders/Resource",
        replica_region="us-east-1",
        stack_region="us-east-1",
    ),
    "bare template": _table(),
    "live, stack-managed": _table(
        source=Source.LIVE,
        construct_path="ShopStack/CartsTable/Resource",
        table_name="carts",
        table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/carts",
    ),
    "live, CloudFormation stack": _table(  # no aws:cdk:path: no CDK code
        source=Source.LIVE,
        table_name="raw",
        table_arn="arn:aws:dynamodb:us-east-1:123456789012:table/raw",
    ),
    "live, unmanaged": _table(
        source=Source.LIVE,
        stack=None,
        logical_id=None,
        table_name="loose",
        table_arn="arn:aws:dynamodb:::table/loose",
    ),
    "source, variable": _table(
        source=Source.SOURCE,
        stack=None,
        construct_path="Legacy",
        cdk_class="CfnTable",
        variable="self.legacy",
    ),
    "source, scope": _table(
        source=Source.SOURCE, stack=None, construct_path="Legacy", cdk_class="CfnTable", scope="self"
    ),
    "source, neither": _table(
        source=Source.SOURCE, stack=None, construct_path="Legacy", cdk_class="CfnTable"
    ),
}
CHANGES = {
    "swap": TableChange(AUDIT_LOG, dataclasses.replace(AUDIT_LOG, resource_type=GLOBAL_TABLE), "logical ID"),
    "rename": TableChange(
        AUDIT_LOG,
        dataclasses.replace(
            AUDIT_LOG, construct_path="Shop/AuditTrail/Resource", logical_id="AuditTrailFF0F2BB5"
        ),
        "key schema",
    ),
    "move": TableChange(
        AUDIT_LOG, dataclasses.replace(AUDIT_LOG, stack="Archive", construct_path="Archive/AuditLog/Resource")
    ),
    "removal": TableChange(AUDIT_LOG, None),
    "key change": TableChange(
        dataclasses.replace(
            AUDIT_LOG, replacing_props={"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
        ),
        dataclasses.replace(
            AUDIT_LOG, replacing_props={"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}
        ),
        "logical ID",
    ),
}


def _runnable(code: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith(("#", "//")) for line in code.splitlines())


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_every_label_is_followed_by_something_to_run(rule_id: str) -> None:
    """Each snippet a reader is shown under a label (CDK Python, CDK TypeScript, CLI) holds a
    line to run, not only comments: for every kind of table, change and the catalogue. Every
    format labels what reports._common.snippets returns (text, Markdown, JUnit, the
    validator and the pack through fix_text; the audit's HTML page the same fields)."""
    rule = RULES_BY_ID[rule_id]
    cases = [(name, table, None) for name, table in TABLES.items()]
    if rule.judges_changes:
        cases = [(name, change.table, change) for name, change in CHANGES.items()]
    for name, table, change in cases:
        shown = [code for _, _, code in snippets(_code(rule_id, table, change))]
        assert all(_runnable(code) for code in shown), (name, shown)
    assert all(_runnable(code) for _, _, code in snippets(of_rule(rule)))


def test_the_renamed_attribute_is_reached_from_its_stack() -> None:
    """The issue's case: `self.audit_log = Table(self, 'AuditLog')` renamed to 'AuditTrail'.
    check cannot know the attribute: the code reaches the table from the stack."""
    fix = _code("TS006", CHANGES["rename"].table, CHANGES["rename"])
    assert fix.cdk_python.splitlines() == [
        "# Shop/AuditTrail: keep the deployed logical ID, in the constructor of stack Shop, after the "
        "table is created",
        "self.node.find_child('AuditTrail').node.default_child.override_logical_id('AuditLogA5B7094E')",
    ]
    assert fix.cdk_typescript.splitlines()[1] == (
        '(this.node.findChild("AuditTrail").node.defaultChild as dynamodb.CfnTable)'
        '.overrideLogicalId("AuditLogA5B7094E");'
    )


@pytest.mark.parametrize(
    ("case", "python", "typescript"),
    [
        (
            "template in a construct",
            "self.node.find_child('Group').node.find_child('Orders')",
            '(this.node.findChild("Group").node.findChild("Orders") as dynamodb.Table)',
        ),
        (  # the stack's name is not its path: from the app
            "template in a stage",
            "self.node.root.node.find_child('Prod').node.find_child('Svc').node.find_child('Orders')",
            '(this.node.root.node.findChild("Prod").node.findChild("Svc").node.findChild("Orders")'
            " as dynamodb.Table)",
        ),
        (
            "template CfnTable",
            "self.node.find_child('Legacy')",
            '(this.node.findChild("Legacy") as dynamodb.CfnTable)',
        ),
        ("source, variable", "self.legacy", "self.legacy"),  # lint knows the variable
        ("source, scope", "self.node.find_child('Legacy')", None),  # the scope as the file writes it
        ("source, neither", "table", "table"),  # the comment says what table is
    ],
)
def test_code_reaches_the_table_through_what_it_knows(case: str, python: str, typescript: str | None) -> None:
    context = RemediationContext.of(TABLES[case])
    assert context.python_table() == python
    assert typescript is None or context.typescript_table() == typescript


def test_without_a_name_or_a_path_the_comment_says_what_to_replace() -> None:
    fix = _code("TS004", TABLES["source, neither"])
    assert fix.cdk_python.splitlines() == [
        "# Legacy: after dynamodb.CfnTable(self, 'Legacy', ...), with table the construct it returns",
        "table.apply_removal_policy(RemovalPolicy.RETAIN)",
    ]


@pytest.mark.parametrize(
    ("table", "in_table"),
    [
        (TABLES["template TableV2 primary"], True),  # the stack's region, from the manifest
        (TABLES["template TableV2 replica"], False),
        (
            dataclasses.replace(TABLES["template TableV2 replica"], replica_region="${AWS::Region}"),
            True,
        ),  # no env
        (  # deployed: the region of its ARN
            dataclasses.replace(
                TABLES["template TableV2 replica"],
                source=Source.LIVE,
                table_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
            ),
            True,
        ),
        (  # a CfnGlobalTable lists every replica, its own region's too
            dataclasses.replace(TABLES["template TableV2 primary"], construct_path="Shop/Orders"),
            False,
        ),
    ],
)
def test_the_primary_replica_is_fixed_on_the_table(table: TableDescription, in_table: bool) -> None:
    """CDK refuses a ReplicaTableProps in the stack's own region: that replica is the table."""
    fix = _code("TS003", table)
    first = fix.cdk_python.splitlines()[0]
    assert (": set in dynamodb.TableV2(self, 'Orders', ...)" in first) is in_table, first
    assert ("region=" in first) is not in_table


def _example(name: str) -> list[str]:
    found = re.findall(rf"<!-- example: {name} -->\n```\n(.*?)```", docs_text(), re.S)
    assert len(found) == 1, name
    return found[0].splitlines()


def test_the_documented_examples_are_what_check_prints() -> None:
    assert _code("TS006", CHANGES["rename"].table, CHANGES["rename"]).cdk_python.splitlines() == _example(
        "renamed-attribute"
    )
    assert _code("TS003", TABLES["template TableV2 primary"]).cdk_python.splitlines() == _example(
        "primary-replica"
    )


def test_a_deployed_table_gets_cdk_code_only_from_a_cdk_stack() -> None:
    raw, cdk_made = TABLES["live, CloudFormation stack"], TABLES["live, stack-managed"]
    assert not _code("TS003", raw).cdk_python and _code("TS003", raw).cli
    assert "set in dynamodb.Table(self, 'CartsTable', ...)" in _code("TS003", cdk_made).cdk_python
    assert "In the template of stack Shop, set both on resource Orders1A2B3C4D" in _code("TS004", raw).summary
