"""Each finding's fix is rendered for that finding: its own construct id, logical ID and
name, no other table's, in the app's language, and no value can break out of a snippet."""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import RunCli

from tablesafe.config import Config
from tablesafe.engine import build_report
from tablesafe.loader import load_paths
from tablesafe.model import GLOBAL_TABLE, TABLE, Finding, Severity, Source, TableDescription
from tablesafe.remediation import (
    RemediationContext,
    app_language,
    for_reader,
    of_finding,
    python_string,
    typescript_string,
)
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
    result = run_cli("lint", SOURCES / source, "--diff-base", "", cwd=REPO)
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
