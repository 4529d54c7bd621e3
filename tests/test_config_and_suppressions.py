"""Suppressions in Metadata and the `.tablesafe.yaml` configuration, through the CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tablesafe.config import load_config

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def table(metadata: dict | None = None, **properties: object) -> dict:
    resource: dict = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    if metadata is not None:
        resource["Metadata"] = metadata
    return resource


def suppress(*entries: dict) -> dict:
    return {"tablesafe": {"suppress": list(entries)}}


SAFE = {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}


def check(run_cli: RunCli, tmp_path: Path, resources: dict, *extra: str) -> tuple[int, dict]:
    (tmp_path / "t.json").write_text(json.dumps({"Resources": resources}))
    result = run_cli("check", "t.json", "--format", "json", *extra, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def by_rule(report: dict, logical_id: str) -> dict[str, dict]:
    return {f["rule_id"]: f for f in report["findings"] if f["logical_id"] == logical_id}


def test_metadata_suppression_with_reason_and_future_expiry_applies(run_cli: RunCli, tmp_path: Path) -> None:
    reason = "scratch table for load tests, rebuilt nightly"
    resources = {
        "Scratch": {
            **table(suppress({"id": "TS003", "reason": reason, "expires": "2099-01-31"}), **SAFE),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        }
    }
    code, report = check(run_cli, tmp_path, resources)
    assert code == 0
    finding = by_rule(report, "Scratch")["TS003"]
    assert finding["suppressed"] is True and finding["suppression_reason"] == reason
    assert report["summary"] == {"tables": 1, "findings": 0, "errors": 0, "warnings": 0, "suppressed": 1}


@pytest.mark.parametrize(
    ("entry", "note"),
    [
        ({"id": "TS003", "reason": "too short"}, "suppression ignored: a reason of at least 10 characters"),
        ({"id": "TS003"}, "suppression ignored: a reason of at least 10 characters"),
        (
            {"id": "TS003", "reason": "migration window agreed", "expires": "2020-01-01"},
            "suppression expired on 2020-01-01",
        ),
        (
            {"id": "TS003", "reason": "migration window agreed", "expires": "next week"},
            "suppression ignored: expires must be a date",
        ),
    ],
)
def test_unusable_suppressions_leave_the_finding_and_say_why(
    run_cli: RunCli, tmp_path: Path, entry: dict, note: str
) -> None:
    code, report = check(run_cli, tmp_path, {"T": table(suppress(entry), **SAFE)})
    assert code == 1
    finding = by_rule(report, "T")["TS003"]
    assert finding["suppressed"] is False
    assert note in finding["message"]


def test_malformed_suppression_blocks_are_input_errors(run_cli: RunCli, tmp_path: Path) -> None:
    resources = {
        "A": table({"tablesafe": {"suppress": "TS003"}}),
        "B": table(suppress({"id": "TS999", "reason": "no such rule here"})),
    }
    code, report = check(run_cli, tmp_path, resources)
    assert code == 2
    problems = sorted(e["problem"] for e in report["errors"])
    assert problems == [
        "resource A: Metadata.tablesafe.suppress must be a list of {id, reason, expires}",
        "resource B: Metadata.tablesafe.suppress[0].id 'TS999' is not a tablesafe rule id",
    ]
    assert {f["logical_id"] for f in report["findings"]} == {"A", "B"}


def test_yaml_dates_in_metadata_are_read(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "Resources:\n"
        "  T:\n"
        "    Type: AWS::DynamoDB::Table\n"
        "    Metadata:\n"
        "      tablesafe:\n"
        "        suppress:\n"
        "          - {id: TS001, reason: cache rebuilt from the source of truth, expires: 2099-12-31}\n"
    )
    result = run_cli("check", "t.yaml", "--format", "json", cwd=tmp_path)
    assert by_rule(json.loads(result.stdout), "T")["TS001"]["suppressed"] is True


CONFIG = """\
min_recovery_period_days: 14
rules:
  TS004: {enabled: false}
  deletion-protection-missing: {severity: warning}
exemptions:
  - rules: [TS001]
    construct_path: "Dev/*"
    reason: development tables hold no customer data
  - stack: "Old*"
    reason: legacy stack being retired this quarter
    expires: 2020-06-30
"""


def test_config_file_is_found_upwards_and_applied(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / ".tablesafe.yaml").write_text(CONFIG)
    work = tmp_path / "sub"
    work.mkdir()
    template = {
        "Resources": {
            "Short": table(
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": True,
                    "RecoveryPeriodInDays": 10,
                }
            ),
            "DevTable": {**table(), "Metadata": {"aws:cdk:path": "Dev/Cache/Resource"}},
        }
    }
    (work / "t.json").write_text(json.dumps(template))
    result = run_cli("check", "t.json", "--format", "json", "--fail-on", "error", cwd=work)
    report = json.loads(result.stdout)
    short, dev = by_rule(report, "Short"), by_rule(report, "DevTable")
    assert "TS004" not in short and "TS004" not in dev
    assert short["TS003"]["severity"] == "warning"
    assert "below the minimum of 14" in short["TS007"]["message"]
    assert dev["TS001"]["suppressed"] is True
    assert dev["TS001"]["suppression_reason"] == "development tables hold no customer data"
    assert result.returncode == 0  # what is left is warnings and a suppression
    assert run_cli("check", "t.json", "--fail-on", "warning", cwd=work).returncode == 1


def test_expired_exemption_no_longer_applies_and_says_so(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    stack = {"type": "aws:cloudformation:stack", "properties": {"templateFile": "OldBilling.template.json"}}
    (assembly / "manifest.json").write_text(json.dumps({"artifacts": {"OldBilling": stack}}))
    (assembly / "OldBilling.template.json").write_text(json.dumps({"Resources": {"T": table(**SAFE)}}))
    result = run_cli("check", "cdk.out", "--config", "cfg.yaml", "--format", "json", cwd=tmp_path)
    finding = by_rule(json.loads(result.stdout), "T")["TS003"]
    assert finding["stack"] == "OldBilling"
    assert finding["suppressed"] is False
    assert "exemption in cfg.yaml expired on 2020-06-30" in finding["message"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "min_recovery_period_days: 90\n",
            "cfg.yaml: min_recovery_period_days: must be a whole number from 1 to 35",
        ),
        ("rules:\n  TS999: {enabled: false}\n", "cfg.yaml: rules.TS999: is not a tablesafe rule id or slug"),
        ("rules:\n  TS001: {enabled: maybe}\n", "cfg.yaml: rules.TS001.enabled: must be true or false"),
        (
            "rules:\n  TS001: {severity: fatal}\n",
            "cfg.yaml: rules.TS001.severity: must be error, warning or info",
        ),
        ("rules:\n  TS001: {enabeld: false}\n", "cfg.yaml: rules.TS001.enabeld: unknown key"),
        (
            "exemptions:\n  - {stack: Dev, reason: short}\n",
            "cfg.yaml: exemptions[0].reason: a reason of at least",
        ),
        ("exemptions:\n  - {reason: a good long reason}\n", "cfg.yaml: exemptions[0]: needs at least one of"),
        ("exemtions: []\n", "cfg.yaml: exemtions: unknown key"),
        ("- a\n- b\n", "cfg.yaml: the configuration must be a mapping"),
        ("rules: [oops\n", "cfg.yaml: invalid YAML"),
    ],
)
def test_config_errors_name_file_and_key_and_the_run_goes_on(
    run_cli: RunCli, tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "cfg.yaml").write_text(text)
    (tmp_path / "t.json").write_text(json.dumps({"Resources": {"T": table()}}))
    result = run_cli("check", "t.json", "--config", "cfg.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    prefix = f"tablesafe: configuration error: {expected}"
    assert any(line.startswith(prefix) for line in lines), result.stderr
    assert json.loads(result.stdout)["errors"][0]["kind"] == "config"
    assert {f["rule_id"] for f in json.loads(result.stdout)["findings"]} >= {"TS001", "TS003"}


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    config, errors = load_config(str(tmp_path / "nope.yaml"), tmp_path)
    assert [e.problem for e in errors] == ["no such file or directory"]
    assert config.disabled == frozenset()


def test_disabling_ts002_drops_its_notice(run_cli: RunCli, tmp_path: Path) -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "rules" / "TS002"
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    for name in ("manifest.json", "Ts002.template.json"):
        (assembly / name).write_text((fixtures / name).read_text())
    manifest = json.loads((assembly / "manifest.json").read_text())
    del manifest["artifacts"]["Ts002"]["additionalMetadataFile"]
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    with_rule = json.loads(run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path).stdout)
    assert [n["level"] for n in with_rule["notices"]] == ["info"]
    (tmp_path / ".tablesafe.yaml").write_text("rules:\n  TS002: {enabled: false}\n")
    without = json.loads(run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path).stdout)
    assert without["notices"] == []
