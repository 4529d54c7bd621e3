"""The tablesafe rules inside a CDK app: TableSafetyChecks, TableSafetyEnforcer, suppress()
and the cdk-nag pack, on real CDK apps synthesized in this process.

The apps are in ``tests/cdk_aspect_apps.py``; the module fixture synthesizes each once
(loading aws-cdk-lib through jsii is slow). Annotations are read from the cloud assembly's
stack metadata, which is what the CDK CLI reads to fail ``cdk synth`` on errors; one test
also goes through ``aws_cdk.assertions.Annotations``. The README snippets below are
executed verbatim.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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

# --- reading the cloud assembly ----------------------------------------------------------

LEVELS = {"aws:cdk:error": "error", "aws:cdk:warning": "warning", "aws:cdk:info": "info"}
FINDING = re.compile(r"^\[(?P<rule>TS\d{3}) [a-z0-9-]+\] (?:Replica (?P<region>[a-z0-9-]+): )?")


@dataclass(frozen=True)
class Message:
    path: str
    level: str
    text: str

    @property
    def finding(self) -> tuple[str, str, str | None] | None:
        match = FINDING.match(self.text)
        return (self.level, match["rule"], match["region"]) if match else None


def assembly_messages(outdir: Path) -> list[Message]:
    """Every error/warning/info annotation in a cloud assembly, nested assemblies included."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    messages: list[Message] = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "cdk:cloud-assembly":
            messages += assembly_messages(outdir / artifact["properties"]["directoryName"])
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        metadata = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            metadata.update(json.loads((outdir / artifact["additionalMetadataFile"]).read_text()))
        for path, entries in metadata.items():
            messages += [
                Message(path.lstrip("/"), LEVELS[e["type"]], e["data"])
                for e in entries
                if e["type"] in LEVELS
            ]
    return messages


def findings_by_path(messages: list[Message]) -> dict[str, set[tuple[str, str, str | None]]]:
    result: dict[str, set[tuple[str, str, str | None]]] = defaultdict(set)
    for message in messages:
        if message.finding:
            result[message.path].add(message.finding)
    return result


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
    messages: list[Message] = field(default_factory=list)


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
    (config_dir / "broken.yaml").write_text(m.BROKEN_CONFIG)
    plan: dict[str, tuple[list[Callable[[Any], Any]], bool]] = {
        "config": ([lambda app: m.build_config(app, str(config_dir / "good.yaml"))], True),
        "config_broken": ([lambda app: m.build_config(app, str(config_dir / "broken.yaml"))], True),
        "checks": ([m.build_checks, m.add_checks], True),
        "flag_off": ([m.build_flag_off, m.add_checks], False),
        "gaps_plain": ([m.build_gaps, m.add_checks], True),
        "gaps_enforced": ([m.build_gaps, m.add_enforcer_and_checks], True),
        "explicit": ([m.build_explicit, m.add_enforcer_and_checks], True),
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
            try:
                app.synth()
            except Exception as error:  # the cdk-nag app fails validation on purpose
                result.error = error
            result.messages = assembly_messages(outdir)
            done[name] = result
        return done[name]

    return run


def check_json(run_cli: Any, outdir: Path) -> tuple[int, list[dict[str, Any]]]:
    done = run_cli("check", outdir, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


# --- TableSafetyChecks -------------------------------------------------------------------


def test_each_rule_fires_on_its_construct_and_only_there(synth: Callable[[str], Synth], apps_module) -> None:
    found = findings_by_path(synth("checks").messages)
    expected = apps_module.EXPECTED_CHECKS
    assert {path: found.get(path, set()) for path in expected} == expected
    assert set(found) <= set(expected), f"findings on unexpected constructs: {set(found) - set(expected)}"


def test_findings_are_the_same_as_tablesafe_check(synth: Callable[[str], Synth], run_cli) -> None:
    """One rule, many sources: the Aspect and `tablesafe check` on its output agree."""
    result = synth("checks")
    code, cli = check_json(run_cli, result.outdir)
    assert code == 1
    l1_paths = {"Checks/Legacy", "Checks/LegacyGlobal", "Checks/Conditional"}

    def l1(path: str) -> str:
        return path if path in l1_paths else f"{path}/Resource"

    from_aspect = {
        (l1(m.path), finding[1], finding[2], finding[0] == "info")
        for m in result.messages
        if (finding := m.finding)
    }
    from_cli = {(f["construct_path"], f["rule_id"], f["replica_region"], f["suppressed"]) for f in cli}
    assert from_aspect == from_cli


def test_message_format_and_fail_closed_names(synth: Callable[[str], Synth]) -> None:
    texts = {(m.path, m.finding[1]): m.text for m in synth("checks").messages if m.finding}
    assert texts[("Checks/Bare", "TS001")] == (
        "[TS001 pitr-missing] Point-in-time recovery is not enabled (no PointInTimeRecoverySpecification)."
        " Fix: Enable point-in-time recovery with pointInTimeRecoverySpecification."
    )
    assert "depends on parameter EnablePitr" in texts[("Checks/Conditional", "TS001")]
    assert "condition ProtectTables" in texts[("Checks/Conditional", "TS003")]
    assert "Protect" in texts[("Checks/Conditional", "TS003")]
    assert texts[("Checks/Global", "TS001")].startswith("[TS001 pitr-missing] Replica eu-west-1: ")


def test_errors_reach_the_cloud_assembly_and_assertions(synth: Callable[[str], Synth]) -> None:
    """The CLI fails `cdk synth` on `aws:cdk:error` metadata; assertions see the same."""
    from aws_cdk.assertions import Annotations, Match

    result = synth("checks")
    assert result.error is None  # in-process synth records errors; the CDK CLI then exits 1
    annotations = Annotations.from_stack(result.refs["stack"])
    annotations.has_error("/Checks/Bare", Match.string_like_regexp(r"^\[TS001 pitr-missing\]"))
    annotations.has_warning(
        "/Checks/Short", Match.string_like_regexp(r"^\[TS007 pitr-recovery-period-short\]")
    )
    annotations.has_no_error("/Checks/Safe", Match.any_value())


def test_removal_policy_applied_by_another_aspect_is_seen(synth: Callable[[str], Synth]) -> None:
    """RemovalPolicies.of(scope) is an Aspect added after the checks; the checks run later."""
    found = findings_by_path(synth("checks").messages)
    assert found["Checks/Ephemeral/Cache"] == {("error", "TS004", None)}


def test_suppressions_work_for_the_aspect_and_for_tablesafe_check(
    synth: Callable[[str], Synth], run_cli
) -> None:
    result = synth("checks")
    waived = [m for m in result.messages if m.path == "Checks/Waived"]
    info = next(m for m in waived if m.finding and m.finding[1] == "TS003")
    assert info.level == "info"
    assert info.text.endswith("(suppressed: Scratch data, rebuilt nightly by the loader)")
    expired = next(m for m in waived if m.finding and m.finding[1] == "TS001")
    assert expired.level == "error" and "suppression expired on 2026-01-31" in expired.text
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
    messages = synth("flag_off").messages
    warnings = [m for m in messages if "tablesafe:metadata-flag-off" in m.text]
    assert [(w.path, w.level) for w in warnings] == [("First", "warning")]
    assert METADATA_FLAG in warnings[0].text
    assert not [m for m in messages if m.finding]  # the deprecated prop is invisible: nothing to say


def test_the_configuration_file_applies_in_the_app(synth: Callable[[str], Synth], apps_module) -> None:
    assert dict(findings_by_path(synth("config").messages)) == apps_module.EXPECTED_CONFIG
    legacy = next(m for m in synth("config").messages if m.path == "Cfg/Legacy" and m.level == "info")
    assert legacy.text.endswith("(suppressed: Legacy table, migrated to TableV2 next quarter)")
    broken = [m for m in synth("config_broken").messages if m.text.startswith("[tablesafe] configuration")]
    assert [(m.path, m.level) for m in broken] == [("Cfg", "error")]
    assert "rules.TS999" in broken[0].text


def test_the_pack_refuses_a_broken_configuration(apps_module: ModuleType, tmp_path: Path) -> None:
    from tablesafe.cdk_aspects import TableSafetyPack

    (tmp_path / "broken.yaml").write_text(apps_module.BROKEN_CONFIG)
    with pytest.raises(ValueError, match=r"rules\.TS999"):
        TableSafetyPack(config_path=str(tmp_path / "broken.yaml"))


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


def test_stage_and_nested_stack(synth: Callable[[str], Synth], apps_module, run_cli) -> None:
    result = synth("stage")
    found = findings_by_path(result.messages)
    assert dict(found) == apps_module.EXPECTED_STAGE
    _, cli = check_json(run_cli, result.outdir)
    assert {(f["construct_path"], f["rule_id"]) for f in cli} == {
        (f"{path}/Resource", rule) for path, rules in found.items() for _, rule, _ in rules
    }


def test_a_stage_the_checks_do_not_reach_is_named(apps_module: ModuleType, tmp_path: Path) -> None:
    import aws_cdk as cdk

    from tablesafe.cdk_aspects import TableSafetyChecks

    app = cdk.App(outdir=str(tmp_path))
    apps_module.safe_table(cdk.Stack(cdk.Stage(app, "Forgotten"), "Svc"), "Orders")
    cdk.Aspects.of(app).add(TableSafetyChecks())
    with pytest.warns(UserWarning, match="does not reach the stacks of Stage Forgotten"):
        app.synth()


# --- TableSafetyEnforcer -----------------------------------------------------------------


def test_enforcer_turns_a_failing_app_into_a_passing_one(synth: Callable[[str], Synth], run_cli) -> None:
    plain, enforced = synth("gaps_plain"), synth("gaps_enforced")
    assert findings_by_path(plain.messages), "without the enforcer the app must fail"
    assert check_json(run_cli, plain.outdir)[0] == 1
    assert [m for m in enforced.messages if m.level == "error"] == []
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
    found = findings_by_path(result.messages)
    assert dict(found) == apps_module.EXPECTED_EXPLICIT
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


def test_enforcer_rejects_a_bad_period(apps_module: ModuleType) -> None:
    from tablesafe.cdk_aspects import TableSafetyEnforcer

    with pytest.raises(ValueError, match="from 1 to 35"):
        TableSafetyEnforcer(recovery_period_days=36)


# --- the cdk-nag pack --------------------------------------------------------------------


def test_nag_pack_reports_next_to_aws_solutions(synth: Callable[[str], Synth], apps_module) -> None:
    result = synth("nag")
    assert result.error is not None and "ValidationFailed" in str(result.error)
    report = json.loads((result.outdir / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    ours = {
        v["ruleName"]: {c["constructPath"] for c in v["violatingConstructs"]}
        for v in plugins["TableSafety"]["violations"]
    }
    assert ours == apps_module.EXPECTED_NAG
    severities = {v["ruleName"]: v["severity"] for v in plugins["TableSafety"]["violations"]}
    assert severities["TableSafety-TS007"] == "warning" and severities["TableSafety-TS001"] == "error"
    ddb3 = next(v for v in plugins["AwsSolutions"]["violations"] if v["ruleName"] == "AwsSolutions-DDB3")
    paths = {c["constructPath"] for c in ddb3["violatingConstructs"]}
    assert "Nag/Bare/Resource" in paths and "Nag/Acked/Resource" not in paths


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
        ("checks", {"Shop/Orders": {("error", "TS001", None), ("error", "TS003", None)}}),
        ("enforcer", {}),
        ("suppress", {"Shop/Sessions": {("info", "TS003", None)}}),
    ],
    ids=["checks", "enforcer", "suppress"],
)
def test_readme_aspect_snippets(snippet: str, expected: dict[str, Any], apps_module, isolated_cwd) -> None:
    namespace, error = _run_snippet(readme_snippet(snippet))
    assert error is None
    assert dict(findings_by_path(assembly_messages(Path(namespace["app"].outdir)))) == expected


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
