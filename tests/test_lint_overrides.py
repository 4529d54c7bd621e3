"""Overrides are followed: a later statement that sets a table's value in its resource
(a raw override, a removal policy applied, cfn_options) decides it over the props, as CDK
renders it. lint reports the finding at that statement, and prints the statement with the
safe value as its fix, which pastes (the synthesized proof, with `tablesafe check`, is
tests/test_fix_builds.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tablesafe.config import Config
from tablesafe.lint import lint_files
from tablesafe.remediation import of_finding

PYTHON = """import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb


def build(self, pk):
    orders = dynamodb.Table(self, "Orders", partition_key=pk, deletion_protection=True)
    orders.node.default_child.add_override("DeletionPolicy", "Delete")
    cfn = orders.node.default_child
    cfn.add_property_override("DeletionProtectionEnabled", "false")
    cfn.add_property_override("PointInTimeRecoverySpecification", {"PointInTimeRecoveryEnabled": True})
    raw = dynamodb.CfnTable(self, "Raw", deletion_protection_enabled=True)
    raw.add_override("DeletionPolicy", "Retain")
    raw.cfn_options.update_replace_policy = cdk.CfnDeletionPolicy.SNAPSHOT
    gone = dynamodb.Table(self, "Gone", partition_key=pk, deletion_protection=True)
    gone.node.default_child.add_property_deletion_override("DeletionProtectionEnabled")
    if self.legacy:
        gone.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
"""

TYPESCRIPT = """import { CfnDeletionPolicy, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';

export function build(scope: any, pk: any) {
  const orders = new dynamodb.Table(scope, 'Orders', { partitionKey: pk, deletionProtection: true });
  (orders.node.defaultChild as dynamodb.CfnTable).addOverride('DeletionPolicy', 'Delete');
  const cfn = orders.node.defaultChild as dynamodb.CfnTable;
  cfn.addPropertyOverride('DeletionProtectionEnabled', 'false');
  cfn.addPropertyOverride('PointInTimeRecoverySpecification', { PointInTimeRecoveryEnabled: true });
  const raw = new dynamodb.CfnTable(scope, 'Raw', { deletionProtectionEnabled: true });
  raw.addOverride('DeletionPolicy', 'Retain');
  raw.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.SNAPSHOT;
  const gone = new dynamodb.Table(scope, 'Gone', { partitionKey: pk, deletionProtection: true });
  (gone.node.defaultChild as dynamodb.CfnTable).addPropertyDeletionOverride('DeletionProtectionEnabled');
  if (scope.legacy) {
    gone.applyRemovalPolicy(RemovalPolicy.DESTROY);
  }
}
"""

EXPECTED = {  # (rule, table) -> the line of the statement that decides it
    ("TS004", "Orders"): 7,
    ("TS003", "Orders"): 9,
    ("TS004", "Raw"): 13,
    ("TS003", "Gone"): 15,
}


@pytest.mark.parametrize(("name", "text", "offset"), [("stack.py", PYTHON, 0), ("stack.ts", TYPESCRIPT, -1)])
def test_the_statement_that_wins_is_the_finding_and_its_fix(
    tmp_path: Path, name: str, text: str, offset: int
) -> None:
    path = tmp_path / name
    path.write_text(text)
    report = lint_files([str(path)], Config())
    found = {(f.rule.id, f.table.construct_path): f for f in report.findings if f.line}
    assert {key: finding.line for key, finding in found.items()} == {
        key: line + offset for key, line in EXPECTED.items()
    }
    # the PITR override is a mapping with PITR on: it decides TS001, which passes
    assert all("wins over the table's props" in f.message for f in found.values())
    # a policy applied under `if` leaves TS004 on Gone to check (it depends on the branch)
    assert any("Gone" in notice.message and "TS004" in notice.message for notice in report.notices)
    lines = text.splitlines(keepends=True)
    for (rule, table), finding in found.items():
        fix = of_finding(finding)
        code = fix.cdk_python or fix.cdk_typescript
        if rule == "TS003" and table == "Gone":  # a deletion: nothing to paste, the summary says so
            assert not code and "remove it" in fix.summary
            continue
        comment, pasted = code.split("\n")
        assert comment.endswith(f"line {finding.line}")
        indent = lines[finding.line - 1][
            : len(lines[finding.line - 1]) - len(lines[finding.line - 1].lstrip())
        ]
        lines[finding.line - 1] = indent + pasted + "\n"
    path.write_text("".join(lines))
    after = {(f.rule.id, f.table.construct_path) for f in lint_files([str(path)], Config()).findings}
    assert after == {("TS003", "Gone"), ("TS001", "Gone"), ("TS001", "Raw")}  # PITR is in no statement
