"""The hooks of .pre-commit-hooks.yaml, run for real with `pre-commit try-repo`.

try-repo installs the hook repository into a fresh virtual environment with pip, which
takes a minute, so one PRE_COMMIT_HOME and one snapshot of this work tree (committed into
a temporary repository: try-repo would leave out untracked files) serve every test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import GIT_ENV, git, snapshot_work_tree

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
UNSAFE = """from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb


class Orders(Stack):
    def __init__(self, scope, construct_id):
        super().__init__(scope, construct_id)
        dynamodb.Table(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            point_in_time_recovery=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
"""
SAFE = UNSAFE.replace(
    "            point_in_time_recovery=True,\n            removal_policy=RemovalPolicy.DESTROY,\n",
    "            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\n"
    "                point_in_time_recovery_enabled=True\n"
    "            ),\n"
    "            deletion_protection=True,\n",
)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This work tree as it is on disk (tracked and untracked, not ignored), committed."""
    return snapshot_work_tree(
        tmp_path_factory.mktemp("hook-repo"), skip=lambda name: name.startswith("tests/")
    )


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(
    hook_repo: Path, home: Path, project: Path, hook: str, *files: str
) -> subprocess.CompletedProcess[str]:
    selection = ["--files", *files] if files else ["--all-files"]
    return subprocess.run(
        [*PRE_COMMIT, "try-repo", str(hook_repo), hook, *selection, "--verbose", "--color", "never"],
        cwd=project,
        env={
            **os.environ,
            **GIT_ENV,
            "PRE_COMMIT_HOME": str(home),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
        },
        capture_output=True,
        text=True,
        timeout=900,
    )


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    git(project, "add", ".")
    return project


def test_hooks_file_declares_both_hooks() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"tablesafe-lint", "tablesafe-fix", "tablesafe-check"}
    assert hooks["tablesafe-lint"]["entry"] == "tablesafe lint --"
    assert hooks["tablesafe-fix"]["entry"] == "tablesafe lint --fix --"
    assert hooks["tablesafe-check"]["entry"] == "tablesafe check --"
    assert hooks["tablesafe-check"]["pass_filenames"] is False


def test_lint_hook_fails_on_an_unsafe_table(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    project = project_with(tmp_path, {"infra/orders.py": UNSAFE, "README.md": "no tables\n"})
    result = try_repo(hook_repo, pre_commit_home, project, "tablesafe-lint", "infra/orders.py", "README.md")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "tablesafe lint (CDK DynamoDB tables)" in output and "Failed" in output
    for finding in ("TS002 pitr-deprecated-prop Orders line 8", "TS003", "TS004"):
        assert finding in output


def test_file_names_that_look_like_options_are_file_names(
    hook_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    """pre-commit appends the staged names after the entry: with `--` ending the entry's
    options, `--output=victim.py` is linted (not a report written over victim.py); an
    executable Python script named `--fix` (pre-commit types it python) is not passed at
    all, as the hooks take CDK source suffixes only, so it neither turns the lint hook into
    a fixer nor fails it."""
    project = project_with(
        tmp_path,
        {
            "--output=victim.py": UNSAFE,
            "--fix": "#!/usr/bin/env python3\nprint('a tool')\n",
            "orders.py": UNSAFE,
        },
    )
    (project / "--fix").chmod(0o755)
    git(project, "add", "--chmod=+x", "--", "--fix")
    result = try_repo(hook_repo, pre_commit_home, project, "tablesafe-lint")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "tablesafe lint (CDK DynamoDB tables)" in output and "Failed" in output
    assert not (project / "victim.py").exists()
    assert (project / "orders.py").read_text() == UNSAFE  # not fixed
    assert "not a CDK source file" not in output
    assert output.count("TS002 pitr-deprecated-prop Orders line 8") == 2  # both files were linted


def test_hook_options_go_in_the_entry_before_the_file_names(
    hook_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    """The documented way to pass options: an overridden entry that ends with `--`."""
    project = project_with(tmp_path, {"infra/orders.py": UNSAFE})
    (project / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump(
            {
                "repos": [
                    {
                        "repo": str(hook_repo),
                        "rev": git(hook_repo, "rev-parse", "HEAD"),
                        "hooks": [{"id": "tablesafe-lint", "entry": "tablesafe lint --fail-on never --"}],
                    }
                ]
            }
        )
    )
    result = subprocess.run(
        [*PRE_COMMIT, "run", "--all-files", "--verbose", "--color", "never"],
        cwd=project,
        env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(pre_commit_home)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "TS002 pitr-deprecated-prop Orders line 8" in output  # reported, not failing


def test_lint_hook_passes_a_safe_table(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    project = project_with(tmp_path, {"infra/orders.py": SAFE})
    result = try_repo(hook_repo, pre_commit_home, project, "tablesafe-lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_fix_hook_fixes_a_staged_file(hook_repo: Path, pre_commit_home: Path, tmp_path: Path) -> None:
    """The hook rewrites the staged file and fails the run (pre-commit's rule for a hook that
    changes files); once the fix is staged, the next run passes."""
    project = project_with(tmp_path, {"infra/orders.py": UNSAFE})
    result = try_repo(hook_repo, pre_commit_home, project, "tablesafe-fix", "infra/orders.py")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "files were modified by this hook" in output
    assert "tablesafe: fixed infra/orders.py: 3 fixes (TS002, TS003, TS004)" in output
    assert (project / "infra/orders.py").read_text() == UNSAFE.replace(
        "            point_in_time_recovery=True,\n            removal_policy=RemovalPolicy.DESTROY,\n",
        "            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\n"
        "                point_in_time_recovery_enabled=True\n"
        "            ),\n"
        "            removal_policy=RemovalPolicy.RETAIN,\n"
        "            deletion_protection=True,\n",
    )
    git(project, "add", "infra/orders.py")
    again = try_repo(hook_repo, pre_commit_home, project, "tablesafe-fix", "infra/orders.py")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Passed" in again.stdout


def test_check_hook_runs_on_a_committed_assembly(
    hook_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    assembly = FIXTURES / "sample-cdk.out"
    files = {
        f"cdk.out/{path.relative_to(assembly)}": path.read_text()
        for path in assembly.rglob("*")
        if path.is_file()
    }
    project = project_with(tmp_path, files)
    result = try_repo(hook_repo, pre_commit_home, project, "tablesafe-check", "cdk.out/manifest.json")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "TS001 pitr-missing" in output
    assert "in 4 tables across 2 stacks" in output  # the nested stack too: the whole assembly
