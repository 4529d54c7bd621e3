"""The GitHub Action (action.yml at the repository root).

Its metadata is validated against SchemaStore's schema for action metadata
(`tests/data/github-action.json`: https://json.schemastore.org/github-action.json, Apache-2.0,
copied byte for byte from the copy that the check-jsonschema 0.39.0 wheel on PyPI vendors,
sha256 224326cc5a334bdb97b56b6fc320cd4381ba7d61b477b425ed506e6a420b52ba). Its steps are
run as the runner runs a composite action: `${{ ... }}` expressions substituted, each
step's env set, INPUT_* for every input, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and
`bash --noprofile --norc -eo pipefail` on the script. The install step installs a clone of
this work tree (the action's own checkout) into a fresh virtual environment, once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import snapshot_work_tree

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = REPO / "fixtures" / "sample-cdk.out"
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def test_action_metadata_matches_the_published_schema() -> None:
    schema = json.loads((DATA / "github-action.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    assert {"path", "baseline", "fail-on", "format", "sarif-file"} <= set(ACTION["inputs"])


def test_the_schema_copy_can_reject_a_broken_action() -> None:
    """The copy is the real schema, not an empty one: a step without a shell is refused."""
    broken = json.loads(json.dumps(ACTION))
    del broken["runs"]["steps"][0]["shell"]
    schema = json.loads((DATA / "github-action.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


@dataclass
class StepRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def substitute(text: str, context: Mapping[str, str]) -> str:
    """`${{ inputs.x }}`, `${{ github.action_path }}`, `${{ runner.temp }}` as the runner does."""

    def value(match: re.Match[str]) -> str:
        assert match[1] in context, f"action.yml uses {match[1]}, which this runner does not know"
        return context[match[1]]

    return EXPRESSION.sub(value, text)


def github_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT read as the runner reads it (actions/runner's file commands): NAME=VALUE
    lines, and NAME<<DELIMITER blocks whose value is every line up to a line DELIMITER."""
    lines = text.splitlines()
    outputs: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line, index = lines[index], index + 1
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            outputs[line[:equals]] = line[equals + 1 :]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            assert delimiter in lines[index:], f"{name}: no closing {delimiter!r}: the runner fails the step"
            end = lines.index(delimiter, index)
            outputs[name], index = "\n".join(lines[index:end]), end + 1
        else:
            assert not line, f"the runner rejects the line {line!r}"
    return outputs


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$GITHUB_WORKSPACE: the working directory of every step."""
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, workspace: Path) -> Callable[..., StepRun]:
    """``runner(step_id_or_index, **inputs)`` runs one step of the action in the workspace."""
    temp = tmp_path_factory.mktemp("runner-temp")
    checkout = snapshot_work_tree(
        tmp_path_factory.mktemp("action-checkout"), skip=lambda name: name.startswith("packages/")
    )

    def run(step: int | str, **given: str) -> StepRun:
        inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        inputs |= {"python": sys.executable} | {name.replace("_", "-"): v for name, v in given.items()}
        context = {f"inputs.{name}": v for name, v in inputs.items()}
        context |= {"github.action_path": str(checkout), "runner.temp": str(temp)}
        steps = ACTION["runs"]["steps"]
        spec = steps[step] if isinstance(step, int) else next(s for s in steps if s.get("id") == step)
        assert spec["shell"] == "bash"
        outputs, summary = workspace / "output.txt", workspace / "summary.md"
        outputs.write_text("")
        summary.write_text("")
        script = workspace / "step.sh"
        script.write_text(substitute(spec["run"], context))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "VIRTUAL_ENV"))}
        env |= {f"INPUT_{name.upper()}": v for name, v in inputs.items()}
        env |= {k: substitute(str(v), context) for k, v in spec.get("env", {}).items()}
        env |= {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(temp)}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        written = github_outputs(outputs.read_text())
        return StepRun(done.returncode, done.stdout, done.stderr, written, summary.read_text())

    installed = run(0)
    assert installed.code == 0, installed.stderr[-3000:]
    assert installed.stdout.strip().startswith("tablesafe ")
    return run


def sarif_results(path: Path) -> list[dict[str, object]]:
    log = json.loads(path.read_text())
    jsonschema.validate(log, json.loads((DATA / "sarif-schema-2.1.0.json").read_text()))
    return [result for run in log["runs"] for result in run["results"]]


def test_findings_fail_the_step_and_fill_the_sarif_file(runner, tmp_path: Path) -> None:
    sarif = tmp_path / "out.sarif"
    result = runner("check", path=str(SAMPLE), sarif_file=str(sarif))
    assert result.code == 1, result.stderr
    assert result.outputs == {"sarif-file": str(sarif), "exit-code": "1"}
    assert "TS004" in result.stdout  # the text report in the log
    rules = {r["ruleId"] for r in sarif_results(sarif)}
    assert {"TS001", "TS003", "TS004"} <= rules


def test_fail_on_never_passes_and_markdown_goes_to_the_job_summary(runner, tmp_path: Path) -> None:
    sarif = tmp_path / "out.sarif"
    result = runner("check", path=str(SAMPLE), fail_on="never", format="markdown", sarif_file=str(sarif))
    assert (result.code, result.outputs["exit-code"]) == (0, "0")
    assert "TS004" in result.summary and result.summary.startswith("#")
    assert sarif_results(sarif)  # findings are reported even when they do not fail the step


def test_a_missing_baseline_is_exit_2_with_the_sarif_still_written(runner, tmp_path: Path) -> None:
    sarif = tmp_path / "out.sarif"
    missing = tmp_path / "old-cdk.out"
    result = runner("check", path=str(SAMPLE), baseline=str(missing), sarif_file=str(sarif))
    assert (result.code, result.outputs["exit-code"]) == (2, "2")
    said = "".join((result.stdout + result.stderr).split())  # the text report wraps long lines
    assert f"{missing}:baselinedoesnotexist" in said
    assert sarif_results(sarif)


def test_an_output_value_cannot_add_an_output(runner, workspace: Path) -> None:
    """A sarif-file input holding a newline (and starting with a dash) is one value of one
    output, and the SARIF file is written under that very name."""
    name = "-report.sarif\nverdict=passed"
    result = runner("check", path=str(SAMPLE), sarif_file=name)
    assert result.code == 1, result.stderr
    assert result.outputs == {"sarif-file": name, "exit-code": "1"}
    assert {"TS001", "TS003"} <= {r["ruleId"] for r in sarif_results(workspace / name)}


def test_a_path_line_starting_with_a_dash_is_a_path(runner, workspace: Path, tmp_path: Path) -> None:
    shutil.copytree(SAMPLE, workspace / "--output=victim")
    sarif = tmp_path / "out.sarif"
    result = runner("check", path="--output=victim\n--fail-on=never", sarif_file=str(sarif))
    assert not (workspace / "victim").exists()
    assert (result.code, result.outputs["exit-code"]) == (2, "2")  # the second line names no file
    said = "".join((result.stdout + result.stderr).split())
    assert "TS001" in result.stdout and "--fail-on=never:nosuchfileordirectory" in said
    assert sarif_results(sarif)
