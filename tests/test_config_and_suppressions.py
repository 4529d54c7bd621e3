"""Suppressions in Metadata and the `.tablesafe.yaml` configuration, through the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FAKE_CREDENTIALS, REPO_ROOT, reset_moto

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
  TS004: {enabled: false, reason: every stack sets Retain through a policy Aspect}
  deletion-protection-missing: {severity: warning, reason: an SCP denies DeleteTable here}
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
    (tmp_path / ".tablesafe.yaml").write_text("rules:\n  TS002: {enabled: false, reason: no CDK v1 apps}")
    without = json.loads(run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path).stdout)
    [notice] = without["notices"]  # the rule's own notice is gone; the switch says so
    assert notice["level"] == "info"
    assert notice["message"].startswith("TS002 pitr-deprecated-prop is disabled by ")
    assert notice["message"].endswith(".tablesafe.yaml: no CDK v1 apps")


# --- a gate that is switched off says so ----------------------------------------------------

SWITCHED_OFF = """\
rules:
  TS004: {enabled: false, reason: retained by the platform policy Aspect}
  TS003: {severity: warning, reason: deletion is denied by an SCP}
  TS007: {severity: error}
"""
"""Two switches that weaken the gate, each with its reason, and one that strengthens it."""


def _notice_text(fmt: str, output: str) -> str:
    """The notices of a report in fmt, as plain text."""
    if fmt == "text":
        return " ".join(output.split())  # wrapped to the terminal
    if fmt == "json":
        return " ".join(notice["message"] for notice in json.loads(output)["notices"])
    if fmt == "sarif":
        notes = json.loads(output)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        return " ".join(note["message"]["text"] for note in notes)
    if fmt == "junit":
        suites = {suite.get("name"): suite for suite in ET.fromstring(output).iter("testsuite")}
        return " ".join(case.get("name") for case in suites["tablesafe notices"].iter("testcase"))
    section = output.split("**Notices**", 1)[1]  # markdown: every punctuation mark is escaped
    return re.sub(r"\\(.)", r"\1", section)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown"])
def test_every_format_names_the_rules_switched_off_and_why(run_cli: RunCli, tmp_path: Path, fmt: str) -> None:
    (tmp_path / "cfg.yaml").write_text(SWITCHED_OFF)
    (tmp_path / "t.json").write_text(json.dumps({"Resources": {"T": table()}}))
    result = run_cli("check", "t.json", "--config", "cfg.yaml", "--format", fmt, cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # TS001 is still an error
    said = _notice_text(fmt, result.stdout)
    assert (
        "TS004 removal-policy-not-retain is disabled by cfg.yaml: retained by the platform policy Aspect"
        in said
    )
    assert (
        "TS003 deletion-protection-missing is lowered from error to warning by cfg.yaml: deletion is denied"
        in said
    )
    assert "TS007" not in said  # raised, not lowered: nothing to justify


@pytest.mark.parametrize(
    ("rules", "key", "weakening", "rule_id", "severity"),
    [
        ("TS004: {enabled: false}", "rules.TS004.enabled", "false switches the rule off", "TS004", "error"),
        (
            "deletion-protection-missing: {severity: info, reason: short}",
            "rules.deletion-protection-missing.severity",
            "info is below the rule's own error",
            "TS003",
            "error",
        ),
    ],
)
def test_a_switch_that_weakens_the_gate_needs_a_reason(
    run_cli: RunCli, tmp_path: Path, rules: str, key: str, weakening: str, rule_id: str, severity: str
) -> None:
    """Without a reason of 10 characters it is a configuration error naming the key, and the
    rule keeps its own setting (fail closed)."""
    (tmp_path / "cfg.yaml").write_text(f"rules:\n  {rules}\n")
    (tmp_path / "t.json").write_text(json.dumps({"Resources": {"T": table()}}))
    result = run_cli("check", "t.json", "--config", "cfg.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    reason_key = key.rsplit(".", 1)[0] + ".reason"
    assert result.stderr.splitlines() == [
        f"tablesafe: configuration error: cfg.yaml: {key}: {weakening}: say why in {reason_key} "
        "(a reason of at least 10 characters is required)"
    ]
    report = json.loads(result.stdout)
    assert by_rule(report, "T")[rule_id]["severity"] == severity
    assert report["notices"] == []


ALL_RULES_OFF = "rules:\n" + "".join(
    f"  TS00{n}: {{enabled: false, reason: the team trusts its reviewers}}\n" for n in range(1, 8)
)


def test_disabling_every_rule_is_a_warning_in_check_and_lint(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / ".tablesafe.yaml").write_text(ALL_RULES_OFF)
    (tmp_path / "t.json").write_text(json.dumps({"Resources": {"T": table()}}))
    shutil.copy(REPO_ROOT / "fixtures" / "source" / "aliases.py", tmp_path / "app.py")
    for args in (("check", "t.json"), ("lint", "app.py")):
        result = run_cli(*args, "--format", "json", cwd=tmp_path)
        report = json.loads(result.stdout)
        assert (result.returncode, report["findings"]) == (0, []), result.stderr
        warnings = [n["message"] for n in report["notices"] if n["level"] == "warning"]
        assert warnings == [f"{tmp_path / '.tablesafe.yaml'} disables every rule: this run checks nothing"]
        assert sum(n["level"] == "info" for n in report["notices"]) >= 7


def test_disabling_every_rule_is_a_warning_in_the_audit_report(
    run_cli: RunCli, moto_server: str, tmp_path: Path
) -> None:
    reset_moto(moto_server)
    (tmp_path / "cfg.yaml").write_text(ALL_RULES_OFF)
    result = run_cli(
        "audit", "--endpoint-url", moto_server, "--regions", "us-east-1", "--config", "cfg.yaml",
        "--output-dir", "run", cwd=tmp_path, env=FAKE_CREDENTIALS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning: cfg.yaml disables every rule: this run checks nothing" in " ".join(result.stdout.split())
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "<li>warning: cfg.yaml disables every rule: this run checks nothing</li>" in page
    assert "<li>info: TS001 pitr-missing is disabled by cfg.yaml: the team trusts its reviewers</li>" in page
