"""A newcomer's wrong steps, each answered through the CLI with the next step to take and
exit code 2 (usage and input errors); and the help that a newcomer reads."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DOC_FILES

from tablesafe.cli import build_parser
from tablesafe.extras import EXTRAS

RunCli = Callable[..., subprocess.CompletedProcess[str]]
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "fixtures" / "sample-cdk.out"
FAIL_TEMPLATE = REPO / "fixtures" / "rules" / "TS001" / "fail.template"


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A CDK app directory after `cdk synth`: app.py beside cdk.out."""
    shutil.copytree(SAMPLE, tmp_path / "cdk.out")
    (tmp_path / "app.py").write_text("import aws_cdk as cdk\n", encoding="utf-8")
    return tmp_path


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("tablesafe: error:")]


def test_misspelt_assembly_is_named_with_the_right_one(run_cli: RunCli, app_dir: Path) -> None:
    result = run_cli("check", "cdk.ou", "--format", "json", cwd=app_dir)
    assert result.returncode == 2
    assert _errors(result) == ["tablesafe: error: cdk.ou: no such file or directory; did you mean cdk.out?"]


def test_missing_assembly_says_to_synth_first_and_skips_the_lockfile(run_cli: RunCli, tmp_path: Path) -> None:
    run_cli("lock", SAMPLE, cwd=tmp_path)  # a lockfile naming stacks that the run cannot read
    assert (tmp_path / "tablesafe.lock.json").is_file()
    result = run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    assert _errors(result) == [
        "tablesafe: error: cdk.out: no such file or directory; for a CDK app, run `cdk synth` first "
        "and check the cloud assembly it writes (cdk.out)"
    ]
    report = json.loads(result.stdout)
    assert report["notices"] == []  # no "stack ... is not in the new input" from the lockfile


def test_check_in_the_app_directory_checks_its_assembly(run_cli: RunCli, app_dir: Path) -> None:
    result = run_cli("check", ".", "--format", "json", cwd=app_dir)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["errors"] == []
    assert report["summary"]["tables"] == 4
    assert {"level": "info", "message": ". is a CDK app: checked its cloud assembly cdk.out"} in report[
        "notices"
    ]


@pytest.mark.parametrize("source", ["app.py", "lib/orders-stack.ts"])
def test_cdk_source_given_to_check_points_to_lint(run_cli: RunCli, app_dir: Path, source: str) -> None:
    (app_dir / source).parent.mkdir(exist_ok=True)
    (app_dir / source).write_text("// CDK app\n", encoding="utf-8")
    result = run_cli("check", source, "--format", "json", cwd=app_dir)
    assert result.returncode == 2
    assert _errors(result) == [
        f"tablesafe: error: {source}: is CDK source code, not a template: use `tablesafe lint {source}` "
        "for source files, or run `cdk synth` and `tablesafe check cdk.out`"
    ]


def test_template_folders_are_read_recursively(run_cli: RunCli, tmp_path: Path) -> None:
    nested = tmp_path / "templates" / "team-a" / "prod"
    nested.mkdir(parents=True)
    shutil.copy(FAIL_TEMPLATE, nested / "orders.template")
    (tmp_path / "templates" / "node_modules" / "x").mkdir(parents=True)
    shutil.copy(FAIL_TEMPLATE, tmp_path / "templates" / "node_modules" / "x" / "skip.template")
    result = run_cli("check", "templates", "-v", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert {f["file"] for f in report["findings"]} == {"templates/team-a/prod/orders.template"}
    assert "tablesafe: read templates/team-a/prod/orders.template" in result.stderr.splitlines()


def test_empty_template_folder(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    result = run_cli("check", "empty", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    assert _errors(result) == [
        "tablesafe: error: empty: no cloud assembly (manifest.json) or CloudFormation templates here or below"
    ]


def test_misspelt_command_suggests_the_command(run_cli: RunCli) -> None:
    result = run_cli("chek", "cdk.out")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "tablesafe: error: argument command: invalid choice: 'chek' (choose from 'check', 'lock', 'rules', "
        "'checkov-dir', 'lint', 'audit', 'runbook', 'drill'); did you mean 'check'? (see tablesafe --help)"
    ]


def test_bad_option_value_names_the_subcommand_help(run_cli: RunCli) -> None:
    result = run_cli("check", "cdk.out", "--format", "jsn")
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith("did you mean 'json'? (see tablesafe check --help)")


def test_short_lock_reason_is_refused_like_a_suppression_reason(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("lock", SAMPLE, "--reason", "short", cwd=tmp_path)
    assert result.returncode == 2
    assert _errors(result) == ["tablesafe: error: --reason: a reason of at least 10 characters is required"]
    assert not (tmp_path / "tablesafe.lock.json").exists()


def test_rules_prints_rationale_fixes_and_controls(run_cli: RunCli) -> None:
    text = run_cli("rules").stdout
    assert text.count("  CDK Python:") == 8 and text.count("  controls:") == 8
    one = run_cli("rules", "pitr-missing")
    assert one.returncode == 0
    assert one.stdout.startswith("TS001  pitr-missing  [error]\n")
    assert "Without point-in-time recovery" in one.stdout
    assert "aws dynamodb update-continuous-backups" in one.stdout
    assert "AWS Security Hub DynamoDB.2" in one.stdout
    assert "TS003" not in one.stdout
    assert json.loads(run_cli("rules", "ts003", "--format", "json").stdout)[0]["id"] == "TS003"
    unknown = run_cli("rules", "TS999")
    assert unknown.returncode == 2
    assert _errors(unknown)[0].startswith("tablesafe: error: rules: no rule 'TS999'; the rules are TS001")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_and_option_has_a_help_line() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {choice.dest for choice in action._choices_actions if choice.help}
    for name, sub in _subparsers(parser).items():
        assert name in helped, name
        assert sub.description, name
        for option in sub._actions:
            assert option.help, f"{name} {option.option_strings or option.dest}"


def test_help_never_breaks_a_path_or_default() -> None:
    help_text = _subparsers(build_parser())["audit"].format_help()
    assert "./tablesafe-audit/<UTC time>/" in help_text
    assert "'tablesafe[demo]'" in help_text


def _lint_files(run_cli: RunCli, cwd: Path, *paths: str) -> tuple[set[str], list[dict[str, str]]]:
    result = run_cli("lint", *paths, "--format", "json", cwd=cwd)
    report = json.loads(result.stdout)
    return {finding["file"] for finding in report["findings"]}, report["errors"]


def test_lint_walks_folders_like_a_commit_would(run_cli: RunCli, tmp_path: Path) -> None:
    source = REPO / "fixtures" / "source"
    for relative in ("app.py", "lib/orders.ts", "node_modules/x/orders.ts", "cdk.out/x.ts", "build/gen.ts"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(
            source / ("aliases.py" if relative.endswith(".py") else "aliases.ts"), tmp_path / relative
        )
    (tmp_path / "lib" / "orders.d.ts").write_text("export {};\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("build/\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert _lint_files(run_cli, tmp_path, ".") == ({"app.py", "lib/orders.ts"}, [])
    assert _lint_files(run_cli, tmp_path, "lib") == ({"lib/orders.ts"}, [])


def test_lint_folder_without_sources(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("# docs\n", encoding="utf-8")
    result = run_cli("lint", "docs", cwd=tmp_path)
    assert result.returncode == 2
    said = " ".join(result.stdout.split())  # the text report wraps to the terminal
    assert "error: docs: no CDK source files (.cts, .mts, .py, .pyi, .ts, .tsx) here or below" in said


def test_audit_honours_aws_region(moto_server: str, tmp_path: Path, test_helper) -> None:
    """AWS_REGION wins over AWS_DEFAULT_REGION, as in the AWS CLI v2 and the SDKs."""
    from conftest import FAKE_CREDENTIALS, _cli_env, reset_moto

    reset_moto(moto_server)
    test_helper("audit_helpers.py").create_table(moto_server, "west-orders", region="us-west-2")
    env = {**_cli_env(), **FAKE_CREDENTIALS, "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-m", "tablesafe", "audit", "--endpoint-url", moto_server, "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert [f["table_name"] for f in report["findings"]] == []
    assert report["summary"]["tables"] == 1


def _core_env() -> dict[str, str]:
    """The environment of a shell where only the core-only install is on PATH."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


NO_EXTRA = [
    (
        ("audit", "--demo"),
        "audit --demo needs the demo extra (boto3, botocore, tqdm, jinja2, markdown_it, moto, werkzeug, "
        "flask, flask_cors not installed): pip install 'tablesafe[demo]'",
    ),
    (
        ("audit",),
        "audit needs the aws extra (boto3, botocore, tqdm, jinja2, markdown_it not installed): "
        "pip install 'tablesafe[aws]'",
    ),
    (
        ("runbook", "orders"),
        "runbook needs the aws extra (boto3, botocore not installed): pip install 'tablesafe[aws]'",
    ),
    (
        ("drill", "orders", "--bucket", "drills"),
        "drill needs the aws extra (boto3, botocore not installed): pip install 'tablesafe[aws]'",
    ),
]


@pytest.mark.parametrize(("args", "line"), NO_EXTRA, ids=[" ".join(args) for args, _ in NO_EXTRA])
def test_a_command_without_its_extra_is_one_line_in_a_core_only_install(
    core_venv: Path, tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    result = subprocess.run(
        [core_venv / "tablesafe", *args],
        cwd=tmp_path,
        env=_core_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"tablesafe: error: {line}"]


def test_baseline_deployed_without_the_aws_extra_in_a_core_only_install(
    core_venv: Path, tmp_path: Path
) -> None:
    """One error line, and the check of the assembly is still reported."""
    result = subprocess.run(
        [core_venv / "tablesafe", "check", SAMPLE, "--baseline", "deployed", "--format", "json"],
        cwd=tmp_path,
        env=_core_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    problem = "needs the aws extra (boto3, botocore not installed): pip install 'tablesafe[aws]'"
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"tablesafe: error: --baseline deployed: {problem}"]
    report = json.loads(result.stdout)
    assert report["errors"] == [{"path": "--baseline deployed", "problem": problem, "kind": "input"}]
    assert report["summary"]["tables"] == 4


def _with_modules_missing(
    tmp_path: Path, modules: tuple[str, ...], *args: str
) -> subprocess.CompletedProcess[str]:
    """The CLI as it runs where modules are not installed (a partial install of an extra)."""
    from conftest import _cli_env

    blocked = (
        f"import sys; sys.modules.update(dict.fromkeys({modules!r})); "
        "from tablesafe.cli import main; sys.exit(main())"
    )
    return subprocess.run(
        [sys.executable, "-c", blocked, *args],
        cwd=tmp_path,
        env=_cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("module", EXTRAS["demo"])
def test_audit_demo_names_whichever_module_of_its_extra_is_missing(tmp_path: Path, module: str) -> None:
    result = _with_modules_missing(tmp_path, (module,), "audit", "--demo")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tablesafe: error: audit --demo needs the demo extra ({module} not installed): "
        "pip install 'tablesafe[demo]'"
    ]


def test_a_missing_dependency_of_an_extra_is_one_line_too(tmp_path: Path) -> None:
    """A dependency of moto that no list names, found missing only when the demo starts."""
    result = _with_modules_missing(tmp_path, ("xmltodict",), "audit", "--demo")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "tablesafe: error: audit --demo needs the demo extra (xmltodict not installed): "
        "pip install 'tablesafe[demo]'"
    ]


def test_the_extras_cover_every_package_pyproject_installs() -> None:
    """EXTRAS names, for each extra of pyproject.toml, a module of every package it installs."""
    import tomllib
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = declared["optional-dependencies"]

    def packages(extra: str) -> set[str]:
        found: set[str] = set()
        for requirement in map(Requirement, optional[extra]):
            if requirement.name == "tablesafe":
                found |= {name for inner in requirement.extras for name in packages(inner)}
            else:
                found.add(canonicalize_name(requirement.name))
        return found

    owners = packages_distributions()
    for extra, modules in EXTRAS.items():
        provided = {canonicalize_name(dist) for module in modules for dist in owners.get(module, [])}
        assert packages(extra) <= provided, (extra, packages(extra) - provided)


def test_check_without_a_path_checks_cdk_out(run_cli: RunCli, app_dir: Path) -> None:
    result = run_cli("check", "--format", "json", cwd=app_dir)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["errors"] == [] and report["summary"]["tables"] == 4
    assert {f["file"].split("/")[0] for f in report["findings"]} == {"cdk.out"}


def test_check_without_a_path_or_cdk_out_says_to_synth_first(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    assert _errors(result) == [
        "tablesafe: error: cdk.out: no PATH given and no cdk.out here: run `cdk synth` first (in the CDK "
        "app), or name the cloud assembly or templates to check"
    ]


def test_check_on_a_cdk_app_before_its_first_synth_says_to_synth(run_cli: RunCli, tmp_path: Path) -> None:
    app = tmp_path / "shop app"
    app.mkdir()
    (app / "cdk.json").write_text('{"app": "python3 app.py"}\n', encoding="utf-8")
    (app / "app.py").write_text("import aws_cdk as cdk\n", encoding="utf-8")
    for path, next_step in ((".", "cdk.out"), ("shop app", "'shop app/cdk.out'")):
        result = run_cli("check", path, "--format", "json", cwd=app if path == "." else tmp_path)
        assert result.returncode == 2
        assert _errors(result) == [
            f"tablesafe: error: {path}: a CDK app (cdk.json) without a cloud assembly: run `cdk synth` "
            f"there first, then `tablesafe check {next_step}`"
        ]


def test_check_and_lint_take_file_names_after_double_dash(run_cli: RunCli, tmp_path: Path) -> None:
    """`--` ends the options (the pre-commit hooks pass it): a file named like an option is a file."""
    shutil.copytree(SAMPLE, tmp_path / "--output=report.txt")
    shutil.copy(REPO / "fixtures" / "source" / "aliases.py", tmp_path / "--fix.py")
    checked = run_cli("check", "--format", "json", "--", "--output=report.txt", cwd=tmp_path)
    assert json.loads(checked.stdout)["summary"]["tables"] == 4
    linted = run_cli("lint", "--format", "json", "--", "--fix.py", cwd=tmp_path)
    assert {f["file"] for f in json.loads(linted.stdout)["findings"]} == {"--fix.py"}
    assert not (tmp_path / "report.txt").exists()
    assert (tmp_path / "--fix.py").read_bytes() == (REPO / "fixtures" / "source" / "aliases.py").read_bytes()


GLOBAL_TEMPLATE = {
    "Resources": {
        "InventorySnapshotsGlobalTable4A6E1B2C": {
            "Type": "AWS::DynamoDB::GlobalTable",
            "Metadata": {"aws:cdk:path": "WarehouseStack/Reporting/InventorySnapshotsGlobalTable/Resource"},
            "Properties": {
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                "Replicas": [{"Region": "us-east-1"}, {"Region": "eu-central-1"}],
            },
        }
    }
}


@pytest.mark.parametrize("width", [60, 80])
def test_replica_headings_wrap_before_the_replica(run_cli: RunCli, tmp_path: Path, width: int) -> None:
    """A replica's heading is longer than the terminal: the replica part goes to a line of its
    own, and the construct path, which is one token, is never split."""
    (tmp_path / "global.template.json").write_text(json.dumps(GLOBAL_TEMPLATE), encoding="utf-8")
    text = run_cli("check", "global.template.json", cwd=tmp_path, env={"COLUMNS": str(width)}).stdout
    lines = text.splitlines()
    for line in lines:
        assert len(line) <= width or " " not in line.strip() or line.startswith(" " * 8), line
    path = "WarehouseStack/Reporting/InventorySnapshotsGlobalTable/Resource"
    replica_lines = [line.strip() for line in lines if line.strip().startswith("(replica ")]
    assert any(line.strip() == path for line in lines)
    assert {line.split(")")[0] + ")" for line in replica_lines} == {
        "(replica us-east-1)",
        "(replica eu-central-1)",
    }


@pytest.mark.parametrize("width", [60, 80, 200])
def test_text_wraps_to_the_terminal_without_splitting_names(run_cli: RunCli, width: int) -> None:
    """COLUMNS sets the width; a longer line is only a line of code or a command (pasted as
    it is), and no construct path, logical ID or file name is split across lines."""
    text = run_cli("check", SAMPLE, env={"COLUMNS": str(width)}).stdout
    report = json.loads(run_cli("check", SAMPLE, "--format", "json").stdout)
    lines = text.splitlines()
    for line in lines:
        if len(line) > width:
            code = line.strip()
            one_token = " " not in code.rstrip(",")
            assert one_token or (line.startswith(" " * 8) and not code.startswith(("#", "//"))), line
    names = {f[key] for f in report["findings"] for key in ("construct_path", "logical_id") if f[key]}
    for name in names:
        assert any(name in line for line in lines), name
    if width == 200:
        assert any(len(line) > 100 for line in lines)  # not cut at the old fixed 100 columns


def test_configuration_errors_come_first_and_are_counted_as_such(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / ".tablesafe.yaml").write_text("rules:\n  TS001: {sevrity: warning}\n", encoding="utf-8")
    result = run_cli("check", SAMPLE, cwd=tmp_path, env={"COLUMNS": "200"})
    lines = result.stdout.splitlines()
    assert result.returncode == 2
    assert lines[1].startswith("configuration error: ") and "rules.TS001.sevrity: unknown key" in lines[1]
    assert lines[-1].endswith("; 1 configuration error")
    assert "could not be read" not in lines[-1]


def _github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation but '-' and '_' dropped,
    spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose(path: Path) -> str:
    """A page without its code blocks (a `# comment` in a block is no heading)."""
    return re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_documentation_links_resolve() -> None:
    """Every relative link of the README and the docs/ pages names a file that exists and,
    with a #fragment, a heading of that page; the README links to every docs/ page."""
    headings = {path.resolve(): re.findall(r"^#{1,6} (.+)$", _prose(path), re.M) for path in DOC_FILES}
    anchors = {path: set(map(_github_anchor, found)) for path, found in headings.items()}
    broken = []
    linked_from_readme: set[Path] = set()
    for page in DOC_FILES:
        for target in re.findall(r"\]\(([^)\s]+)\)", _prose(page)):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            file, _, fragment = target.partition("#")
            resolved = (page.parent / file).resolve() if file else page.resolve()
            if page.name == "README.md" and page.parent == REPO:
                linked_from_readme.add(resolved)
            if not resolved.exists() or (fragment and fragment not in anchors.get(resolved, set())):
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken
    pages = {path.resolve() for path in DOC_FILES if path.parent.name == "docs"}
    assert pages and pages <= linked_from_readme, sorted(map(str, pages - linked_from_readme))


def test_exit_codes_are_one_table_in_the_readme_and_in_help(run_cli: RunCli) -> None:
    """One list of exit codes, the same in the README and in `tablesafe --help`."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Exit codes") :].split("\n## ", 1)[0]
    in_readme = re.findall(r"^\| (\d+) \|", section, re.M)
    help_text = run_cli("--help").stdout
    in_help = re.findall(r"^  (\d+) ", help_text.split("exit codes:", 1)[1], re.M)
    assert in_readme == in_help == ["0", "1", "2", "3", "130"]
