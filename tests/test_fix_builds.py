"""Where the original builds, the fixed file builds too, and `lint` and `check` agree before
and after: real apps with values that are not literals and with raw overrides, fixed with
`tablesafe lint --fix`, compiled with `tsc --strict` and synthesized by aws-cdk-lib
(Python in its own process, TypeScript with Node), then checked with `tablesafe check`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import JSII_QUIET

pytestmark = pytest.mark.cdk

PYTHON_APP = """import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb

PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


class Shop(cdk.Stack):
    def __init__(self, scope, construct_id, pitr=None, props=None):
        super().__init__(scope, construct_id)
        # not literals: both None here
        dynamodb.Table(self, "Loose", partition_key=PK, point_in_time_recovery=pitr, deletion_protection=True)
        dynamodb.Table(
            self,
            "FromProps",
            partition_key=PK,
            point_in_time_recovery=props.get("pitr"),
            deletion_protection=True,
        )
        # raw overrides win over the props
        orders = dynamodb.Table(
            self,
            "Orders",
            partition_key=PK,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
        )
        orders.node.default_child.add_override("DeletionPolicy", "Delete")
        cfn = orders.node.default_child
        cfn.add_property_override("DeletionProtectionEnabled", False)
        audit = dynamodb.Table(
            self,
            "Audit",
            partition_key=PK,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
        )
        audit.node.default_child.add_property_override(
            "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", "false"
        )
        audit.node.default_child.add_deletion_override("UpdateReplacePolicy")
        raw = dynamodb.CfnTable(
            self,
            "Raw",
            key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
            attribute_definitions=[
                dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
            ],
            billing_mode="PAY_PER_REQUEST",
            point_in_time_recovery_specification=dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection_enabled=True,
        )
        raw.add_override("DeletionPolicy", "Retain")
        raw.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        # tablesafe: ignore[TS003] sessions expire after a day anyway (expires 2999-12-31)
        self.sessions = dynamodb.Table(
            self,
            "Sessions",
            partition_key=PK,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
        )


app = cdk.App(context={"@aws-cdk/core:enableAdditionalMetadataCollection": True})  # for TS002
Shop(app, "Shop", props={})
app.synth()
"""

TYPESCRIPT_APP = """import { App, CfnDeletionPolicy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';

interface ShopProps { pitr?: boolean; on?: boolean }
const PK = { name: 'pk', type: dynamodb.AttributeType.STRING };

class Shop extends Stack {
  constructor(scope: App, id: string, props?: ShopProps, pitr?: boolean) {
    super(scope, id);
    // not literals: boolean | undefined, where the specification wants a boolean
    new dynamodb.Table(this, 'Loose', { partitionKey: PK, pointInTimeRecovery: props?.pitr });
    new dynamodb.Table(this, 'Either', {
      partitionKey: PK,
      pointInTimeRecovery: pitr || props?.on,
      deletionProtection: true,
    });
    // raw overrides win over the props
    const orders = new dynamodb.Table(this, 'Orders', {
      partitionKey: PK,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
    });
    (orders.node.defaultChild as dynamodb.CfnTable).addOverride('DeletionPolicy', 'Delete');
    const cfn = orders.node.defaultChild as dynamodb.CfnTable;
    cfn.addPropertyOverride('DeletionProtectionEnabled', false);
    cfn.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.DELETE;
    const audit = new dynamodb.Table(this, 'Audit', {
      partitionKey: PK,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
    });
    audit.applyRemovalPolicy(RemovalPolicy.DESTROY);
    const auditL1 = audit.node.defaultChild as dynamodb.CfnTable;
    auditL1.addPropertyDeletionOverride('PointInTimeRecoverySpecification');
  }
}

const app = new App({ context: { '@aws-cdk/core:enableAdditionalMetadataCollection': true } });
new Shop(app, 'Shop', {});
app.synth();
"""

TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "commonjs",
        "strict": True,
        "noEmitOnError": True,
        "skipLibCheck": True,
        "types": [],
    },
    "files": ["app.ts"],
}


def _tablesafe(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tablesafe", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def _found(output: str) -> set[tuple[str, str]]:
    """(rule, construct id) of each unsuppressed finding in a JSON report."""
    return {
        (finding["rule_id"], (finding["construct_path"] or "").removesuffix("/Resource").rsplit("/", 1)[-1])
        for finding in json.loads(output)["findings"]
        if not finding["suppressed"]
    }


def _check_and_lint(app: Path, out: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    checked = _tablesafe("check", out, "--format", "json", cwd=app.parent)
    linted = _tablesafe("lint", app, "--format", "json", cwd=app.parent)
    assert checked.returncode in (0, 1) and linted.returncode in (0, 1), checked.stderr + linted.stderr
    return _found(checked.stdout), _found(linted.stdout)


def _synth_python(app: Path) -> Path:
    out = app.parent / f"cdk.out.{app.stat().st_mtime_ns}"
    env = {**os.environ, **JSII_QUIET, "CDK_OUTDIR": str(out)}
    done = subprocess.run([sys.executable, str(app)], capture_output=True, text=True, env=env, cwd=app.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _build_typescript(app: Path, node_modules: Path) -> Path:
    """tsc --strict, then the compiled app synthesized by Node."""
    compiled = subprocess.run(
        [str(node_modules / ".bin" / "tsc"), "-p", "."], capture_output=True, text=True, cwd=app.parent
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    out = app.parent / f"cdk.out.{app.stat().st_mtime_ns}"
    env = {**os.environ, **JSII_QUIET, "CDK_OUTDIR": str(out)}
    done = subprocess.run(["node", "app.js"], capture_output=True, text=True, env=env, cwd=app.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


BEFORE = {
    ("TS002", "Loose"),
    ("TS001", "Loose"),
    ("TS003", "Orders"),
    ("TS004", "Orders"),
    ("TS001", "Audit"),
    ("TS004", "Audit"),
}


def test_python_fix_synthesizes_and_lint_agrees_with_check(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(PYTHON_APP)
    checked, linted = _check_and_lint(app, _synth_python(app))
    expected = BEFORE | {("TS002", "FromProps"), ("TS001", "FromProps"), ("TS004", "Raw")}
    # lint cannot evaluate `pitr` or `props.get(...)`: it leaves TS001 there to check; jsii
    # passes no prop whose value is None, so the assembly does not show the deprecated one;
    # the ignore comment silences lint alone
    assert checked == expected - {("TS002", "Loose"), ("TS002", "FromProps")} | {("TS003", "Sessions")}
    assert linted == expected - {("TS001", "Loose"), ("TS001", "FromProps")}
    fixed = _tablesafe("lint", "--fix", app, "--format", "json", cwd=tmp_path)
    assert fixed.returncode == 1, fixed.stderr
    assert "add_deletion_override removes UpdateReplacePolicy and wins over the table's props" in fixed.stderr
    text = app.read_text()
    assert "point_in_time_recovery_enabled=bool(pitr)" in text
    assert 'point_in_time_recovery_enabled=bool(props.get("pitr"))' in text
    assert 'add_override("DeletionPolicy", "Retain")' in text and "RemovalPolicy.RETAIN" in text
    assert "# tablesafe: ignore" not in text and "from tablesafe.cdk_aspects import suppress" in text
    assert (
        "        suppress(\n"
        "            self.sessions,\n"
        '            "TS003",\n'
        '            reason="sessions expire after a day anyway",\n'
        '            expires="2999-12-31",\n'
        "        )\n"
    ) in text
    checked, linted = _check_and_lint(app, _synth_python(app))  # the suppression reaches every gate
    # left: PITR off where the value was None (as before the fix), and the deletion override
    assert checked == {("TS001", "Loose"), ("TS001", "FromProps"), ("TS004", "Audit")}
    assert linted == {("TS004", "Audit")}


def test_typescript_fix_compiles_strict_and_lint_agrees_with_check(
    tmp_path: Path, cdk_node_modules: Path
) -> None:
    (tmp_path / "node_modules").symlink_to(cdk_node_modules)
    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    app = tmp_path / "app.ts"
    app.write_text(TYPESCRIPT_APP)
    checked, linted = _check_and_lint(app, _build_typescript(app, cdk_node_modules))
    expected = BEFORE | {("TS002", "Either"), ("TS001", "Either"), ("TS003", "Loose")}
    assert checked == expected
    assert linted == expected - {("TS001", "Loose"), ("TS001", "Either")}
    fixed = _tablesafe("lint", "--fix", app, "--format", "json", cwd=tmp_path)
    assert fixed.returncode == 1, fixed.stderr
    assert "addPropertyDeletionOverride removes PointInTimeRecoveryEnabled" in fixed.stderr
    text = app.read_text()
    assert "pointInTimeRecoveryEnabled: props?.pitr ?? false" in text
    assert "pointInTimeRecoveryEnabled: (pitr || props?.on) ?? false" in text
    checked, linted = _check_and_lint(app, _build_typescript(app, cdk_node_modules))
    assert checked == {("TS001", "Loose"), ("TS001", "Either"), ("TS001", "Audit")}
    assert linted == {("TS001", "Audit")}
    assert "deletionProtection: true" in text.split("'Loose'")[1].split("});")[0]


IGNORED_TS = """import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';

const PK = { name: 'pk', type: dynamodb.AttributeType.STRING };

class Shop extends Stack {
  readonly sessions: dynamodb.Table;

  constructor(scope: App, id: string) {
    super(scope, id);
    // tablesafe: ignore[TS003, TS001] sessions expire after a day anyway (expires 2999-12-31)
    this.sessions = new dynamodb.Table(this, 'Sessions', { partitionKey: PK });
    const cache = new dynamodb.Table(this, 'Cache', {
      partitionKey: PK,
    }); // tablesafe: ignore[TS001] rebuilt every night
  }
}

new Shop(new App(), 'Shop');
"""


def test_typescript_ignore_comments_become_suppress_calls_that_compile(
    tmp_path: Path, cdk_node_modules: Path
) -> None:
    """--fix writes each ignore comment as suppress() calls of @tablesafe/cdk (imported once),
    which compile with tsc --strict against the package's own typings; lint then reads the
    calls, and warns no more."""
    (tmp_path / "node_modules").symlink_to(cdk_node_modules)
    package = cdk_node_modules.parent / "src" / "index.ts"
    paths = {"@tablesafe/cdk": [str(package)]}
    options = {
        **TSCONFIG["compilerOptions"],
        "noEmit": True,
        "baseUrl": ".",
        "paths": paths,
        "types": ["node"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps({**TSCONFIG, "compilerOptions": options}))
    app = tmp_path / "app.ts"
    app.write_text(IGNORED_TS)
    before = json.loads(_tablesafe("lint", app, "--format", "json", cwd=tmp_path).stdout)
    assert sum("silences lint only" in notice["message"] for notice in before["notices"]) == 2
    fixed = _tablesafe("lint", "--fix", app, "--format", "json", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr  # TS003 on Cache, which its comment did not waive, is fixed
    text = app.read_text()
    assert text.count("import { suppress } from '@tablesafe/cdk';") == 1 and "tablesafe: ignore" not in text
    assert 'suppress(this.sessions, "TS001", "sessions expire after a day anyway", "2999-12-31");' in text
    assert '    suppress(cache, "TS001", "rebuilt every night");\n' in text
    tsc = subprocess.run(
        [str(cdk_node_modules / ".bin" / "tsc"), "-p", "."], capture_output=True, text=True, cwd=tmp_path
    )
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr
    after = json.loads(fixed.stdout)
    assert not any("silences lint only" in notice["message"] for notice in after["notices"])
    assert {(f["rule_id"], f["construct_path"], f["suppressed"]) for f in after["findings"]} == {
        ("TS001", "Sessions", True),
        ("TS003", "Sessions", True),
        ("TS001", "Cache", True),
    }
    assert "deletionProtection: true" in text.split("'Cache'")[1]
