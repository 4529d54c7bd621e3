"""The tablesafe rules inside a CDK app: TableSafetyValidator (and TableSafetyChecks, its
earlier name), TableSafetyEnforcer, suppress() and the cdk-nag pack, on real CDK apps
synthesized in this process.

The apps are in ``tests/cdk_aspect_apps.py``; the module fixture synthesizes each once
(loading aws-cdk-lib through jsii is slow). Findings are read from the
``validation-report.json`` that CDK writes into the cloud assembly, the report the CDK CLI
prints when it fails ``cdk synth``. The README snippets below are executed verbatim.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import readme_snippet

pytestmark = pytest.mark.cdk

TESTS_DIR = Path(__file__).resolve().parent
JSII_QUIET = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1"}
METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"

# --- reading the validation report -------------------------------------------------------

REPLICA = re.compile(r"^\[[A-Za-z0-9-]+ [a-z0-9-]+\] Replica (?P<region>[a-z0-9-]+): ")


@dataclass(frozen=True)
class Violation:
    """One violating construct of one violation in CDK's validation report."""

    plugin: str
    rule: str
    severity: str
    description: str
    fix: str | None
    path: str | None
    template: str | None
    logical_id: str | None

    @property
    def table(self) -> str | None:
        """The table's L2 path (its L1's path for an L1 used directly)."""
        return self.path.removesuffix("/Resource") if self.path else None

    @property
    def finding(self) -> tuple[str, str, str | None]:
        match = REPLICA.match(self.description)
        return (
            self.severity,
            self.rule.split("[")[0].removeprefix("TableSafety-"),
            match and match["region"],
        )


def report_violations(outdir: Path) -> list[Violation]:
    """Every violation of every plugin in the assembly's validation report ([] without one)."""
    report_file = outdir / "validation-report.json"
    if not report_file.is_file():
        return []
    found = []
    for plugin in json.loads(report_file.read_text())["pluginReports"]:
        for v in plugin["violations"]:
            for c in v["violatingConstructs"] or [{}]:
                resource = c.get("cloudFormationResource") or {}
                found.append(
                    Violation(
                        plugin["pluginName"],
                        v["ruleName"],
                        v.get("severity", ""),
                        v["description"],
                        v.get("suggestedFix"),
                        c.get("constructPath"),
                        resource.get("templatePath"),
                        resource.get("logicalId"),
                    )
                )
    return found


def findings_by_table(
    violations: list[Violation], plugin: str = "tablesafe"
) -> dict[str, set[tuple[str, str, str | None]]]:
    result: dict[str, set[tuple[str, str, str | None]]] = defaultdict(set)
    for v in violations:
        if v.plugin == plugin and v.table:
            result[v.table].add(v.finding)
    return dict(result)


def metadata_entries(outdir: Path, kind: str) -> dict[str, list[Any]]:
    """Construct path -> the data of its metadata entries of one type."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found: dict[str, list[Any]] = defaultdict(list)
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack" and "additionalMetadataFile" in artifact:
            metadata = json.loads((outdir / artifact["additionalMetadataFile"]).read_text())
            for path, entries in metadata.items():
                data = [e["data"] for e in entries if e["type"] == kind]
                if data:
                    found[path.lstrip("/")] += data
    return dict(found)


# --- synthesizing the apps once ----------------------------------------------------------


@dataclass
class Synth:
    outdir: Path
    app: Any
    refs: dict[str, Any]
    error: Exception | None = None
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def apps_module(test_helper: Callable[[str], ModuleType]) -> ModuleType:
    os.environ.update(JSII_QUIET)
    return test_helper("cdk_aspect_apps.py")


@pytest.fixture(scope="module")
def isolated_cwd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No `.tablesafe.yaml` of the work tree applies to the apps of this module."""
    cwd = tmp_path_factory.mktemp("aspect-cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        yield cwd


@pytest.fixture(scope="module")
def synth(
    apps_module: ModuleType, isolated_cwd: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Synth]:
    """``synth(name)`` synthesizes one app of the plan on first use and returns the result."""
    import aws_cdk as cdk

    m = apps_module
    config_dir = tmp_path_factory.mktemp("aspect-config")
    (config_dir / "good.yaml").write_text(m.CONFIG)
    plan: dict[str, tuple[list[Callable[[Any], Any]], bool]] = {
        "config": ([lambda app: m.build_config(app, str(config_dir / "good.yaml"))], True),
        "checks": ([m.build_checks, m.add_checks], True),
        "flag_off": ([m.build_flag_off, m.add_checks], False),
        "gaps_plain": ([m.build_gaps, m.add_checks], True),
        "gaps_enforced": ([m.build_gaps, m.add_enforcer_and_checks], True),
        "explicit": ([m.build_explicit, m.add_enforcer_aspect_and_checks], True),
        "stage": ([m.build_stage], True),
        "nag": ([m.build_nag], True),
    }
    root = tmp_path_factory.mktemp("aspect-apps")
    done: dict[str, Synth] = {}

    def run(name: str) -> Synth:
        if name not in done:
            steps, flag = plan[name]
            outdir = root / name
            app = cdk.App(outdir=str(outdir), context={METADATA_FLAG: flag})
            refs: dict[str, Any] = {}
            for step in steps:
                refs.update(step(app) or {})
            result = Synth(outdir, app, refs)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    app.synth()
                except Exception as error:  # under pytest, a failed validation raises with the report
                    result.error = error
            result.violations = report_violations(outdir)
            result.warnings = [str(w.message) for w in caught]
            done[name] = result
        return done[name]

    return run


def check_json(run_cli: Any, outdir: Path) -> tuple[int, list[dict[str, Any]]]:
    done = run_cli("check", outdir, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


# --- TableSafetyValidator ----------------------------------------------------------------


def test_each_rule_fires_on_its_table_and_only_there(synth: Callable[[str], Synth], apps_module) -> None:
    found = findings_by_table(synth("checks").violations)
    expected = apps_module.EXPECTED_CHECKS
    assert {path: found.get(path, set()) for path in expected} == {k: v for k, v in expected.items()}
    assert set(found) <= set(expected), f"findings on unexpected constructs: {set(found) - set(expected)}"


def test_findings_are_the_same_as_tablesafe_check(synth: Callable[[str], Synth], run_cli) -> None:
    """One rule, many sources: the validator and `tablesafe check` on its output agree."""
    result = synth("checks")
    code, cli = check_json(run_cli, result.outdir)
    assert code == 1
    from_validator = {(v.path, v.rule, v.finding[2], v.logical_id) for v in result.violations}
    from_cli = {
        (f["construct_path"], f["rule_id"], f["replica_region"], f["logical_id"])
        for f in cli
        if not f["suppressed"]
    }
    assert from_validator == from_cli


def test_violation_message_fix_template_and_fail_closed_names(synth: Callable[[str], Synth]) -> None:
    violations = {(v.table, v.rule): v for v in synth("checks").violations}
    bare = violations[("Checks/Bare", "TS001")]
    assert bare.description == (
        "[TS001 pitr-missing] Point-in-time recovery is not enabled (no PointInTimeRecoverySpecification)."
    )
    assert bare.fix and "pointInTimeRecoverySpecification" in bare.fix and "Checks/Bare" in bare.fix
    assert (bare.template, bare.severity) == ("Checks.template.json", "error")
    assert bare.logical_id and bare.logical_id.startswith("Bare")
    assert "depends on parameter EnablePitr" in violations[("Checks/Conditional", "TS001")].description
    assert "condition ProtectTables" in violations[("Checks/Conditional", "TS003")].description
    assert violations[("Checks/Global", "TS001")].description.startswith(
        "[TS001 pitr-missing] Replica eu-west-1: "
    )
    assert violations[("Checks/Short", "TS007")].severity == "warning"


def test_an_error_fails_the_synth_with_the_report(synth: Callable[[str], Synth]) -> None:
    """Under a test runner CDK raises with the report; the CDK CLI prints it and exits 1."""
    result = synth("checks")
    assert result.error is not None and "[TS001 pitr-missing]" in str(result.error)
    report = json.loads((result.outdir / "validation-report.json").read_text())
    (ours,) = [p for p in report["pluginReports"] if p["pluginName"] == "tablesafe"]
    assert (ours["conclusion"], ours["pluginVersion"]) == ("failure", tablesafe_version())


def tablesafe_version() -> str:
    from tablesafe import __version__

    return __version__


def test_removal_policy_applied_by_an_aspect_is_seen(synth: Callable[[str], Synth]) -> None:
    """RemovalPolicies.of(scope) is an Aspect; the validator judges what was synthesized."""
    found = findings_by_table(synth("checks").violations)
    assert found["Checks/Ephemeral/Cache"] == {("error", "TS004", None)}


def test_suppressions_work_for_the_validator_and_for_tablesafe_check(
    synth: Callable[[str], Synth], run_cli
) -> None:
    result = synth("checks")
    waived = [v for v in result.violations if v.table == "Checks/Waived"]
    assert [v.rule for v in waived] == ["TS001"]  # TS003 is suppressed until 2027
    assert "suppression expired on 2026-01-31" in waived[0].description
    _, cli = check_json(run_cli, result.outdir)
    by_rule = {f["rule_id"]: f for f in cli if f["construct_path"] == "Checks/Waived/Resource"}
    assert by_rule["TS003"]["suppressed"] is True
    assert by_rule["TS003"]["suppression_reason"] == "Scratch data, rebuilt nightly by the loader"
    assert by_rule["TS001"]["suppressed"] is False
    template = json.loads((result.outdir / "Checks.template.json").read_text())
    (metadata,) = [
        r["Metadata"]["tablesafe"]
        for r in template["Resources"].values()
        if "tablesafe" in r.get("Metadata", {})
    ]
    assert metadata == {
        "suppress": [
            {"id": "TS003", "reason": "Scratch data, rebuilt nightly by the loader", "expires": "2027-01-31"},
            {"id": "TS001", "reason": "Waiting for the backup budget approval", "expires": "2026-01-31"},
        ]
    }


def test_suppress_refuses_what_would_be_ignored(apps_module: ModuleType) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb

    from tablesafe.cdk_aspects import suppress

    stack = cdk.Stack(cdk.App(), "Refusals")
    table = dynamodb.Table(stack, "T", partition_key=apps_module.KEY)
    with pytest.raises(ValueError, match="at least 10 characters"):
        suppress(table, "TS003", reason="because")
    with pytest.raises(ValueError, match="date like 2027-01-31"):
        suppress(table, "TS003", reason="a long enough reason", expires="next year")
    with pytest.raises(ValueError, match="not a tablesafe rule"):
        suppress(table, "TS999", reason="a long enough reason")
    with pytest.raises(TypeError, match="not a DynamoDB table"):
        suppress(stack, "TS003", reason="a long enough reason")
    suppress(table, "TS003", reason="first reason, replaced below")
    suppress(table.node.default_child, "deletion-protection-missing", reason="the reason that stays")
    assert table.node.default_child.get_metadata("tablesafe") == {
        "suppress": [{"id": "TS003", "reason": "the reason that stays"}]
    }


def test_metadata_flag_off_warns_once_and_skips_ts002(synth: Callable[[str], Synth]) -> None:
    result = synth("flag_off")
    told = [w for w in result.warnings if "TS002 could not be judged" in w]
    assert len(told) == 1 and "First" in told[0] and METADATA_FLAG in told[0]
    assert result.violations == [] and result.error is None  # the deprecated prop is invisible


def test_the_configuration_file_applies_in_the_app(synth: Callable[[str], Synth], apps_module) -> None:
    result = synth("config")
    assert findings_by_table(result.violations) == apps_module.EXPECTED_CONFIG
    lowered = [w for w in result.warnings if "TS003 deletion-protection-missing is lowered" in w]
    assert len(lowered) == 1 and lowered[0].endswith(": an SCP denies DeleteTable in these accounts"), lowered


@pytest.mark.parametrize(("fail_on", "fails"), [("error", False), ("warning", True)])
def test_fail_on_decides_whether_a_warning_fails_the_synth(
    fail_on: str, fails: bool, apps_module: ModuleType, tmp_path: Path, isolated_cwd: Path
) -> None:
    import aws_cdk as cdk

    from tablesafe.cdk_aspects import TableSafetyValidator

    app = cdk.App(outdir=str(tmp_path), context={METADATA_FLAG: True})
    stack = cdk.Stack(app, "Svc", env=apps_module.ENV)
    apps_module.safe_table(stack, "Short", point_in_time_recovery_specification=apps_module.pitr(3))
    cdk.Validations.of(app).add_plugins(TableSafetyValidator(fail_on=fail_on, today=apps_module.TODAY))
    try:
        app.synth()
        raised = False
    except Exception as error:
        raised = "TS007" in str(error)
    assert raised is fails
    assert [(v.rule, v.severity) for v in report_violations(tmp_path)] == [("TS007", "warning")]


def test_an_unusable_lockfile_fails_the_synth(
    apps_module: ModuleType, tmp_path: Path, isolated_cwd: Path
) -> None:
    import aws_cdk as cdk

    from tablesafe.cdk_aspects import TableSafetyValidator

    lock = tmp_path / "tablesafe.lock.json"
    lock.write_text("{not json")
    app = cdk.App(outdir=str(tmp_path / "out"), context={METADATA_FLAG: True})
    apps_module.safe_table(cdk.Stack(app, "Svc", env=apps_module.ENV), "Orders")
    cdk.Validations.of(app).add_plugins(TableSafetyValidator(lock_path=str(lock)))
    with pytest.raises(Exception, match="input-error"):
        app.synth()
    (error,) = report_violations(tmp_path / "out")
    assert (error.rule, error.severity) == ("input-error", "error")
    assert error.description.startswith(f"{lock}: lockfile ")


@pytest.mark.parametrize("plugin", ["TableSafetyValidator", "TableSafetyPack"])
def test_a_broken_configuration_is_refused_before_synthesis(
    plugin: str, apps_module: ModuleType, tmp_path: Path
) -> None:
    import tablesafe.cdk_aspects as integrations

    (tmp_path / "broken.yaml").write_text(apps_module.BROKEN_CONFIG)
    with pytest.raises(ValueError, match=r"rules\.TS999"):
        getattr(integrations, plugin)(config_path=str(tmp_path / "broken.yaml"))


def test_resolved_properties_are_converted_by_shape(apps_module: ModuleType) -> None:
    from tablesafe.cdk_aspects._resource import _GLOBAL_TABLE_SHAPE, to_cloudformation

    replica = {"region": "eu-west-1", "deletionProtectionEnabled": True, "sseSpecification": {"x": 1}}
    props = {
        "tableName": "t",
        "replicas": [
            replica,
            {
                "Fn::If": [
                    "C",
                    {"region": "us-east-1", "deletionProtectionEnabled": False},
                    {"Ref": "AWS::NoValue"},
                ]
            },
        ],
        "keySchema": [{"attributeName": "pk", "keyType": "HASH"}],
        "billingMode": "PAY_PER_REQUEST",  # no rule reads it: not converted
    }
    assert to_cloudformation(props, _GLOBAL_TABLE_SHAPE) == {
        "TableName": "t",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "Replicas": [
            {"Region": "eu-west-1", "DeletionProtectionEnabled": True},
            {
                "Fn::If": [
                    "C",
                    {"Region": "us-east-1", "DeletionProtectionEnabled": False},
                    {"Ref": "AWS::NoValue"},
                ]
            },
        ],
    }
    assert to_cloudformation({"replicas": {"Ref": "P"}}, _GLOBAL_TABLE_SHAPE) == {"Replicas": {"Ref": "P"}}


def test_checks_added_as_an_aspect_validate_the_stage_and_its_nested_stack(
    synth: Callable[[str], Synth], apps_module, run_cli
) -> None:
    result = synth("stage")
    found = findings_by_table(result.violations)
    assert found == apps_module.EXPECTED_STAGE
    _, cli = check_json(run_cli, result.outdir)
    assert {(f["construct_path"], f["rule_id"]) for f in cli} == {
        (f"{path}/Resource", rule) for path, rules in found.items() for _, rule, _ in rules
    }


def test_the_validator_of_the_app_reaches_every_stage(
    apps_module: ModuleType, tmp_path: Path, isolated_cwd: Path
) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb

    from tablesafe.cdk_aspects import TableSafetyValidator

    app = cdk.App(outdir=str(tmp_path), context={METADATA_FLAG: True})
    inner = cdk.Stage(cdk.Stage(app, "Outer"), "Inner")
    dynamodb.Table(cdk.Stack(inner, "Svc", env=apps_module.ENV), "Bare", partition_key=apps_module.KEY)
    apps_module.safe_table(cdk.Stack(app, "Top", env=apps_module.ENV), "Orders")
    cdk.Validations.of(app).add_plugins(TableSafetyValidator(today=apps_module.TODAY))
    with pytest.raises(Exception, match="TS003 deletion-protection-missing"):
        app.synth()
    assert findings_by_table(report_violations(tmp_path)) == {
        "Outer/Inner/Svc/Bare": {("error", "TS001", None), ("error", "TS003", None)}
    }


# --- TableSafetyEnforcer -----------------------------------------------------------------


def test_enforcer_turns_a_failing_app_into_a_passing_one(synth: Callable[[str], Synth], run_cli) -> None:
    plain, enforced = synth("gaps_plain"), synth("gaps_enforced")
    assert findings_by_table(plain.violations), "without the enforcer the app must fail"
    assert check_json(run_cli, plain.outdir)[0] == 1
    assert (enforced.violations, enforced.error) == ([], None)
    code, cli = check_json(run_cli, enforced.outdir)
    assert (code, cli) == (0, [])
    template = json.loads((enforced.outdir / "Gaps.template.json").read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            assert props["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": 35,
            }
            assert props["DeletionProtectionEnabled"] is True
        elif resource["Type"] == "AWS::DynamoDB::GlobalTable":
            for replica in resource["Properties"]["Replicas"]:
                assert replica["DeletionProtectionEnabled"] is True
                assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        else:
            continue
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    recorded = metadata_entries(enforced.outdir, "tablesafe:enforced")
    assert recorded["Gaps/Bare"] == [
        ["PointInTimeRecoverySpecification: enabled, 35 days", "DeletionProtectionEnabled: true"]
    ]
    assert recorded["Gaps/L1"] == [
        [
            "PointInTimeRecoverySpecification: enabled, 35 days",
            "DeletionProtectionEnabled: true",
            "DeletionPolicy: Retain",
            "UpdateReplacePolicy: Retain",
        ]
    ]
    assert "Replicas[eu-west-1].DeletionProtectionEnabled: true" in recorded["Gaps/L1Global"][0]
    assert "Replicas[us-west-2].DeletionProtectionEnabled: true" in recorded["Gaps/BareGlobal"][0]


def test_enforcer_never_weakens_an_explicit_setting(
    synth: Callable[[str], Synth], apps_module, run_cli
) -> None:
    result = synth("explicit")
    found = findings_by_table(result.violations)
    assert found == apps_module.EXPECTED_EXPLICIT
    _, cli = check_json(run_cli, result.outdir)
    assert {(f["construct_path"], f["rule_id"], f["replica_region"]) for f in cli} == {
        (f"{path}/Resource", rule, region) for path, rules in found.items() for _, rule, region in rules
    }
    recorded = metadata_entries(result.outdir, "tablesafe:enforced")
    assert "Explicit/Destroy" not in recorded and "Explicit/PitrOff" not in recorded
    assert recorded["Explicit/Global"] == [
        [
            "Replicas[eu-west-1].PointInTimeRecoverySpecification: enabled, 35 days",
            "Replicas[us-east-1].PointInTimeRecoverySpecification: enabled, 35 days",
            "Replicas[us-east-1].DeletionProtectionEnabled: true",
        ]
    ]


def test_enforcer_apply_calls_into_python_once_and_stays_in_its_stage(
    apps_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb

    from tablesafe.cdk_aspects import TableSafetyEnforcer, enforcer

    visits: list[str] = []
    visit = enforcer._EnforceOnce.visit

    def counted(self: Any, node: Any) -> None:
        visits.append(node.node.path)
        visit(self, node)

    monkeypatch.setattr(enforcer._EnforceOnce, "visit", counted)
    app = cdk.App(outdir=str(tmp_path), context={METADATA_FLAG: True})
    for stack in ("One", "Two"):
        dynamodb.Table(cdk.Stack(app, stack, env=apps_module.ENV), "Bare", partition_key=apps_module.KEY)
    dynamodb.CfnTable(cdk.Stack(app, "Raw", env=apps_module.ENV), "L1", **apps_module.l1_key_props())
    staged = cdk.Stack(cdk.Stage(app, "Prod"), "Svc", env=apps_module.ENV)
    dynamodb.Table(staged, "Bare", partition_key=apps_module.KEY)
    TableSafetyEnforcer().apply(app)
    app.synth()
    assert visits == ["TableSafetyEnforcer"]  # one call, however many constructs
    recorded = metadata_entries(tmp_path, "tablesafe:enforced")
    assert set(recorded) == {"One/Bare", "Two/Bare", "Raw/L1"}  # a nested Stage is synthesized first
    assert "DeletionPolicy: Retain" in recorded["Raw/L1"][0]  # an L1 used directly: its options are read
    assert metadata_entries(tmp_path / "assembly-Prod", "tablesafe:enforced") == {}


def test_enforcer_leaves_values_that_depend_on_parameters_and_conditions(
    apps_module: ModuleType, tmp_path: Path
) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb

    from tablesafe.cdk_aspects import TableSafetyEnforcer

    app = cdk.App(outdir=str(tmp_path), context={METADATA_FLAG: True})
    stack = cdk.Stack(app, "Tokens", env=apps_module.ENV)
    enabled = cdk.CfnParameter(stack, "EnablePitr", type="String")
    protect = cdk.CfnCondition(
        stack, "Protect", expression=cdk.Fn.condition_equals(enabled.value_as_string, "x")
    )
    dynamodb.CfnTable(
        stack,
        "Conditional",
        **apps_module.l1_key_props(),
        point_in_time_recovery_specification=apps_module.l1_pitr(enabled, None),
        deletion_protection_enabled=cdk.Fn.condition_if(protect.logical_id, True, False),
    )
    TableSafetyEnforcer().apply(app)
    app.synth()
    (table,) = (
        r
        for r in json.loads((tmp_path / "Tokens.template.json").read_text())["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    )
    assert table["Properties"]["DeletionProtectionEnabled"] == {"Fn::If": ["Protect", True, False]}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": {"Ref": "EnablePitr"}
    }
    assert metadata_entries(tmp_path, "tablesafe:enforced") == {
        "Tokens/Conditional": [["DeletionPolicy: Retain", "UpdateReplacePolicy: Retain"]]
    }


def test_enforcer_rejects_a_bad_period(apps_module: ModuleType) -> None:
    from tablesafe.cdk_aspects import TableSafetyEnforcer

    with pytest.raises(ValueError, match="from 1 to 35"):
        TableSafetyEnforcer(recovery_period_days=36)


# --- the cdk-nag pack --------------------------------------------------------------------


def test_nag_pack_reports_next_to_aws_solutions(synth: Callable[[str], Synth], apps_module) -> None:
    result = synth("nag")
    assert result.error is not None and "ValidationFailed" in str(result.error)
    ours: dict[str, set[str]] = defaultdict(set)
    for v in result.violations:
        if v.plugin == "TableSafety":
            ours[v.rule].add(v.path)
    assert ours == apps_module.EXPECTED_NAG
    by_rule = {v.rule: v for v in result.violations if v.plugin == "TableSafety"}
    assert (
        by_rule["TableSafety-TS007"].severity == "warning"
        and by_rule["TableSafety-TS001"].severity == "error"
    )
    replica = by_rule["TableSafety-TS003[eu-west-1]"].description
    assert replica.startswith("[TS003 deletion-protection-missing] Replica eu-west-1: "), replica
    assert [v for v in result.violations if v.plugin == "tablesafe"] == []  # left to the pack
    assert any("leaves the findings to it" in w for w in result.warnings)
    ddb3 = {v.path for v in result.violations if v.rule == "AwsSolutions-DDB3"}
    assert "Nag/Bare/Resource" in ddb3 and "Nag/Acked/Resource" not in ddb3


def test_nag_pack_validate_scope_without_synthesis(apps_module: ModuleType, isolated_cwd: Path) -> None:
    """cdk-nag's direct entry point (no cloud assembly yet): the pack reads the constructs."""
    import aws_cdk as cdk

    from tablesafe.cdk_aspects import TableSafetyPack

    app = cdk.App(context={METADATA_FLAG: True})
    apps_module.build_gaps(app)
    report = TableSafetyPack(app).validate_scope(app)
    found = {(v.rule_name, r.construct_path) for v in report.violations for r in v.violating_resources}
    assert ("TableSafety-TS001", "Gaps/Bare/Resource") in found
    assert ("TableSafety-TS004", "Gaps/L1") in found
    assert ("TableSafety-TS003[us-west-2]", "Gaps/BareGlobal/Resource") in found
    assert not report.success


def test_nag_pack_rule_classes_come_from_the_rule_metadata(apps_module: ModuleType) -> None:
    """One IApplyRule class per rule, generated from its metadata; usable in another pack."""
    import aws_cdk as cdk
    from cdk_nag import NagMessageLevel, NagRuleCompliance

    from tablesafe.cdk_aspects.nag import PACK_NAME, RULE_CLASSES
    from tablesafe.rules import ALL_RULES

    assert PACK_NAME == "TableSafety"
    assert set(RULE_CLASSES) == {rule.id for rule in ALL_RULES}
    stack = cdk.Stack(cdk.App(), "Standalone", env=apps_module.ENV)
    table = apps_module.safe_table(stack, "Protected", deletion_protection=False)
    ts003, ts007 = RULE_CLASSES["TS003"], RULE_CLASSES["TS007"]
    assert ts003.__name__ == "TS003DeletionProtectionMissing"
    applied = ts003(table.node.default_child)
    assert (applied.rule_suffix_override, applied.level) == ("TS003", NagMessageLevel.ERROR)
    assert applied.info.startswith("[TS003 deletion-protection-missing] ")
    assert applied.rule(applied.node) == NagRuleCompliance.NON_COMPLIANT
    assert ts007(table.node.default_child).level == NagMessageLevel.WARN
    ts001 = RULE_CLASSES["TS001"](table.node.default_child)
    assert ts001.rule(ts001.node) == NagRuleCompliance.COMPLIANT


# --- README snippets, the import boundary ------------------------------------------------


def _run_snippet(code: str) -> tuple[dict[str, Any], Exception | None]:
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    try:
        exec(compile(code, "<README snippet>", "exec"), namespace)
    except Exception as error:
        return namespace, error
    return namespace, None


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("validator", {"Shop/Orders": {("error", "TS001", None), ("error", "TS003", None)}}),
        ("enforcer", {}),
        ("suppress", {}),
    ],
    ids=["validator", "enforcer", "suppress"],
)
def test_readme_snippets(snippet: str, expected: dict[str, Any], apps_module, isolated_cwd) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # App() here has no cdk.json: TS002 cannot be judged
        namespace, error = _run_snippet(readme_snippet(snippet))
    assert (error is not None) == bool(expected), error  # under pytest, a failed validation raises
    assert findings_by_table(report_violations(Path(namespace["app"].outdir))) == expected


def test_readme_nag_snippet(apps_module: ModuleType, isolated_cwd: Path) -> None:
    with pytest.warns(UserWarning, match="TS002 could not be judged"):  # App() here has no cdk.json
        namespace, error = _run_snippet(readme_snippet("nag"))
    assert error is None, error  # TS003 acknowledged, PITR on: neither pack has anything to say
    report = json.loads((Path(namespace["app"].outdir) / "validation-report.json").read_text())
    assert all(p["conclusion"] == "success" for p in report["pluginReports"]), report


def test_tablesafe_check_never_imports_the_cdk_integration(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys, runpy\n"
        "sys.argv = ['tablesafe', 'check', sys.argv[1], '--fail-on', 'never']\n"
        "try:\n    runpy.run_module('tablesafe', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'cdk_nag')"
        " or m.startswith('tablesafe.cdk_aspects')))\n"
    )
    sample = TESTS_DIR.parent / "fixtures" / "sample-cdk.out"
    done = subprocess.run(
        [sys.executable, str(probe), str(sample)], capture_output=True, text=True, timeout=60, check=False
    )
    assert "LOADED []" in done.stdout, done.stdout + done.stderr
