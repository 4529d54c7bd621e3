"""The command line as a user meets it: the fast path stays lean, the catalogue prints,
and the README's examples are true."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import docs_text, imported_top_modules

RunCli = Callable[..., subprocess.CompletedProcess[str]]
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "fixtures" / "sample-cdk.out"
HEAVY = ("boto3", "botocore", "aws_cdk", "jsii", "checkov", "cfnlint", "jinja2", "markdown_it")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown"])
def test_check_imports_no_heavy_library(fmt: str) -> None:
    returncode, imported = imported_top_modules("check", SAMPLE, "--format", fmt)
    assert returncode == 1
    assert "tablesafe" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


def test_rules_catalogue(run_cli: RunCli) -> None:
    text = run_cli("rules").stdout
    for rule_id in ("TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007"):
        assert rule_id in text
    assert "AWS Security Hub DynamoDB.6" in text
    assert "TS008  recreation-unproven  [warning, opt-in]" in text
    assert "rules: {TS008: {enabled: true}}" in text
    catalogue = json.loads(run_cli("rules", "--format", "json").stdout)
    assert [entry["id"] for entry in catalogue] == [f"TS00{n}" for n in range(1, 9)]
    assert [entry["id"] for entry in catalogue if not entry["enabled_by_default"]] == ["TS008"]
    assert all(entry["remediation"]["cdk_typescript"] for entry in catalogue)


def test_readme_json_example_matches_the_sample(run_cli: RunCli) -> None:
    readme = docs_text()
    example = json.loads(re.search(r"## JSON output.*?```json\n(.*?)```", readme, re.S).group(1))
    actual = json.loads(run_cli("check", "fixtures/sample-cdk.out", "--format", "json", cwd=REPO).stdout)
    assert example["summary"] == actual["summary"]
    assert example["findings"][0] in actual["findings"]
    assert set(example) == set(actual)


def test_readme_config_example_is_valid(run_cli: RunCli, tmp_path: Path) -> None:
    readme = docs_text()
    config = re.search(r"`\.tablesafe\.yaml`, found.*?```yaml\n(.*?)```", readme, re.S).group(1)
    (tmp_path / ".tablesafe.yaml").write_text(config)
    result = run_cli("check", str(SAMPLE), "--format", "json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["errors"] == []


def test_output_file_and_fail_on(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    result = run_cli("check", str(SAMPLE), "--format", "sarif", "--output", str(out))
    assert result.returncode == 1 and result.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert run_cli("check", str(SAMPLE), "--fail-on", "never").returncode == 0


def test_text_output_is_grouped_by_stack_with_fixes(run_cli: RunCli) -> None:
    text = run_cli("check", str(SAMPLE)).stdout
    assert "\x1b[" not in text  # not a terminal: no colour
    headings = re.findall(r"^(Orders|Orders/Billing)(?: |$)", text, re.M)  # the files may wrap
    assert headings == ["Orders", "Orders/Billing"]
    assert "deletion_protection=True" in text and "deletionProtection: true" in text
    assert text.rstrip().endswith("in 4 tables across 2 stacks")
