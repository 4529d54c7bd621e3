"""tablesafe's checkov external checks, run by the real checkov CLI.

checkov pins an old boto3, so it lives in its own virtual environment, ``.venv-checkov``,
which ``scripts/checkov-venv.sh`` creates on first use (about a minute; later runs reuse
it). Every test runs checkov as a subprocess, offline, with ``-o json``, and compares its
verdicts with ``tablesafe check`` on the same inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import repository_files, snapshot_work_tree

from tablesafe.config import Config
from tablesafe.engine import evaluate
from tablesafe.loader import load_paths

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKS_DIR = REPO_ROOT / "rules" / "checkov"
FIXTURES = REPO_ROOT / "fixtures"
ASSEMBLY = FIXTURES / "sample-cdk.out"
TS_CHECKS = ("TS001", "TS003", "TS004", "TS007")
OFFLINE = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}
"""No guideline mapping download, no PyPI version check (with --skip-download: no network)."""

Verdicts = dict[tuple[str, str, str], str]
"""(check id, file relative to the scanned folder, logical ID) -> PASSED / FAILED / SKIPPED."""


class CheckovRun:
    """One checkov run: its records by verdict, and stderr."""

    def __init__(self, process: subprocess.CompletedProcess[str]) -> None:
        self.process = process
        self.stderr = process.stderr
        self.records: list[dict[str, Any]] = []
        try:
            document = json.loads(process.stdout)
        except json.JSONDecodeError:
            self.crashed = True
            return
        self.crashed = False
        for report in document if isinstance(document, list) else [document]:
            results = report.get("results", {})
            for kind in ("passed_checks", "failed_checks", "skipped_checks"):
                self.records.extend(results.get(kind, []))

    def _ensure_ran(self) -> None:
        assert not self.crashed, (
            f"checkov exited {self.process.returncode} without JSON:\n{self.process.stdout[-2000:]}\n"
            f"{self.stderr[-4000:]}"
        )

    def verdicts(self, check_ids: Iterable[str] = TS_CHECKS) -> Verdicts:
        self._ensure_ran()
        wanted = set(check_ids)
        return {
            (r["check_id"], r["file_path"].lstrip("/"), r["resource"].rsplit(".", 1)[1]): r["check_result"][
                "result"
            ]
            for r in self.records
            if r["check_id"] in wanted
        }

    def record(self, check_id: str, logical_id: str, file: str | None = None) -> dict[str, Any]:
        """The one record of a check on a resource (in file, relative to the scanned folder)."""
        self._ensure_ran()
        (found,) = [
            r
            for r in self.records
            if r["check_id"] == check_id
            and r["resource"].endswith("." + logical_id)
            and (file is None or r["file_path"].lstrip("/") == file)
        ]
        return found


RunCheckov = Callable[..., CheckovRun]


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    """The checkov executable of .venv-checkov, created by scripts/checkov-venv.sh if needed."""
    script = REPO_ROOT / "scripts" / "checkov-venv.sh"
    started = time.monotonic()
    if script.is_file():
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, f"scripts/checkov-venv.sh failed:\n{done.stderr[-4000:]}"
        executable = Path(done.stdout.strip().splitlines()[-1])
    else:  # the script is the documented way; this keeps a bare checkout testable
        venv = REPO_ROOT / ".venv-checkov"
        executable = venv / "bin" / "checkov"
        if not executable.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "--quiet", "checkov>=3.2,<4"], check=True, timeout=1800
            )
    elapsed = time.monotonic() - started
    if elapsed > 10:
        print(f"\n.venv-checkov set up in {elapsed:.0f} s", file=sys.stderr)
    assert executable.is_file(), executable
    return executable


@pytest.fixture(scope="session")
def run_checkov(checkov_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> RunCheckov:
    """``run_checkov(*args, cwd=None)``: checkov's CloudFormation runner, offline, JSON out.

    The default cwd is an empty directory: no ``.tablesafe.yaml`` applies, and checkov's
    temporary ``*_checks`` folders of ``--external-checks-git`` land there.
    """
    default_cwd = tmp_path_factory.mktemp("checkov-cwd")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(OFFLINE)

    def run(*args: str | os.PathLike[str], cwd: Path | None = None) -> CheckovRun:
        command = [
            str(checkov_bin),
            "--framework",
            "cloudformation",
            "--skip-download",
            "-o",
            "json",
            *map(str, args),
        ]
        process = subprocess.run(
            command, cwd=cwd or default_cwd, env=env, capture_output=True, text=True, timeout=600
        )
        return CheckovRun(process)

    return run


def tablesafe_verdicts(root: Path, path: Path | None = None) -> set[tuple[str, str, str]]:
    """What ``tablesafe check`` reports for the checkov-able rules, as (rule, file relative
    to root, logical ID)."""
    loaded = load_paths([str(path or root)])
    findings = evaluate(loaded.tables, Config(), dt.date.today())
    return {
        (f.rule.id, Path(f.table.file or "").relative_to(root).as_posix(), f.table.logical_id or "")
        for f in findings
        if f.rule.id in TS_CHECKS and not f.suppressed
    }


def failed(verdicts: Verdicts) -> set[tuple[str, str, str]]:
    return {key for key, verdict in verdicts.items() if verdict == "FAILED"}


# --- the rule fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def fixture_run(run_checkov: RunCheckov) -> CheckovRun:
    """One checkov run over every rule's PASS/FAIL fixtures (checkov -d is recursive)."""
    return run_checkov("-d", FIXTURES / "rules", "--external-checks-dir", CHECKS_DIR)


@pytest.mark.parametrize("rule_id", TS_CHECKS)
def test_fail_tables_fail_and_pass_tables_pass(fixture_run: CheckovRun, rule_id: str) -> None:
    verdicts = {
        logical_id: verdict
        for (_, file, logical_id), verdict in fixture_run.verdicts([rule_id]).items()
        if file.startswith(f"{rule_id}/")
    }
    loaded = load_paths([str(FIXTURES / "rules" / rule_id)])
    assert set(verdicts) == {t.logical_id for t in loaded.tables}, "checkov judged every table"
    for logical_id, verdict in verdicts.items():
        assert verdict == ("FAILED" if logical_id.startswith("Fail") else "PASSED"), logical_id


@pytest.mark.parametrize("name", ["TS001", "TS002", "TS003", "TS004", "TS007"])
def test_checkov_fails_exactly_what_tablesafe_check_reports(fixture_run: CheckovRun, name: str) -> None:
    in_dir = {key for key in failed(fixture_run.verdicts()) if key[1].startswith(f"{name}/")}
    assert in_dir == tablesafe_verdicts(FIXTURES / "rules", FIXTURES / "rules" / name)


def test_fail_closed_where_checkov_renders_parameter_defaults(fixture_run: CheckovRun) -> None:
    """checkov replaces a Ref to a parameter by its Default; the TS checks read the template."""
    record = fixture_run.record("TS001", "FailFromParameter", "TS001/fail.template")
    assert record["check_result"]["result"] == "FAILED"
    (finding,) = record["check_result"]["tablesafe_findings"]
    assert "parameter EnablePitr" in finding["message"]
    assert (
        fixture_run.record("CKV_AWS_28", "FailFromParameter", "TS001/fail.template")["check_result"]["result"]
        == "PASSED"
    )


def test_removal_policy_is_read_although_checkov_drops_it(fixture_run: CheckovRun) -> None:
    verdicts = fixture_run.verdicts(["TS004"])
    assert verdicts[("TS004", "TS004/pass.yaml", "PassRetain")] == "PASSED"
    assert verdicts[("TS004", "TS004/fail.template", "FailPolicyFromCondition")] == "FAILED"


# --- a cloud assembly ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def installed_checks_dir(run_cli: Callable[..., subprocess.CompletedProcess[str]]) -> Path:
    result = run_cli("checkov-dir")
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="session")
def assembly_run(run_checkov: RunCheckov, installed_checks_dir: Path) -> CheckovRun:
    """The documented usage: checkov -d cdk.out ... --external-checks-dir "$(tablesafe checkov-dir)"."""
    return run_checkov("-d", ASSEMBLY, "--external-checks-dir", installed_checks_dir)


def test_cloud_assembly_reports_ts_checks_next_to_checkovs_own(assembly_run: CheckovRun) -> None:
    assert failed(assembly_run.verdicts()) == {
        ("TS001", "Orders.template.json", "CustomerProfilesDC1612EE"),
        ("TS003", "Orders.template.json", "SessionCache9EEA23A0"),
        ("TS003", "OrdersBilling26D4953F.nested.template.json", "InvoicesF0222E8D"),
        ("TS004", "Orders.template.json", "SessionCache9EEA23A0"),
        ("TS007", "Orders.template.json", "CustomerProfilesDC1612EE"),
    }
    assert failed(assembly_run.verdicts()) == tablesafe_verdicts(ASSEMBLY)
    own = {r["check_id"] for r in assembly_run.records}
    assert {"CKV_AWS_28", "CKV_AWS_165"} <= own
    severities = {r["check_id"]: r["severity"] for r in assembly_run.records if r["check_id"] in TS_CHECKS}
    assert severities == {"TS001": "HIGH", "TS003": "HIGH", "TS004": "HIGH", "TS007": "MEDIUM"}


def test_global_table_replicas_are_judged_where_ckv_aws_165_sees_only_the_first(
    assembly_run: CheckovRun,
) -> None:
    assert (
        assembly_run.record("CKV_AWS_165", "CustomerProfilesDC1612EE")["check_result"]["result"] == "PASSED"
    )
    result = assembly_run.record("TS001", "CustomerProfilesDC1612EE")["check_result"]
    assert result["result"] == "FAILED"
    assert [f["replica_region"] for f in result["tablesafe_findings"]] == ["eu-west-1"]
    assert result["evaluated_keys"] == [
        "Properties/Replicas/[1]/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled"
    ]
    ts007 = assembly_run.record("TS007", "CustomerProfilesDC1612EE")["check_result"]
    assert [f["replica_region"] for f in ts007["tablesafe_findings"]] == ["us-west-2", "us-east-1"]
    # each finding's fix names its own table and replica, not an example
    (fix,) = [f["remediation"] for f in result["tablesafe_findings"]]
    assert "the replica eu-west-1 of CustomerProfilesDC1612EE" in fix  # no aws:cdk:path: the logical ID
    assert "SessionCache" not in fix and "OrdersA9B65338" not in fix


# --- suppressions, skips, configuration --------------------------------------------------------

GOOD_REPLICA = {
    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    "DeletionProtectionEnabled": True,
}


def _table(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            **properties,
        },
    }


SUPPRESSIONS_TEMPLATE = {
    "Resources": {
        "SkippedByCheckov": {
            **_table(),
            "Metadata": {
                "checkov": {
                    "skip": [
                        {"id": "TS003", "comment": "a checkov skip of a TS check"},
                        {"id": "CKV_AWS_28", "comment": "a checkov skip of its own check"},
                    ]
                }
            },
        },
        "SuppressedByTablesafe": {
            **_table(),
            "Metadata": {"tablesafe": {"suppress": [{"id": "TS003", "reason": "cache, rebuilt on deploy"}]}},
        },
        "ExpiredSuppression": {
            **_table(),
            "Metadata": {
                "tablesafe": {
                    "suppress": [
                        {"id": "TS003", "reason": "waived until the migration", "expires": "2020-01-31"}
                    ]
                }
            },
        },
        "ShortReason": {
            **_table(),
            "Metadata": {"tablesafe": {"suppress": [{"id": "TS003", "reason": "later"}]}},
        },
        "ExemptInConfig": _table(),
        "GlobalSecondReplicaBad": {
            "Type": "AWS::DynamoDB::GlobalTable",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Replicas": [
                    {"Region": "us-east-1", **GOOD_REPLICA},
                    {"Region": "eu-west-1", "DeletionProtectionEnabled": False},
                ]
            },
        },
    }
}
CONFIG = """\
min_recovery_period_days: 35
exemptions:
  - rules: [TS003]
    logical_id: ExemptIn*
    reason: exempted in the team's configuration
"""


@pytest.fixture(scope="session")
def suppression_run(run_checkov: RunCheckov, tmp_path_factory: pytest.TempPathFactory) -> CheckovRun:
    """checkov -f on a template, run from a directory whose .tablesafe.yaml applies."""
    work = tmp_path_factory.mktemp("suppressions")
    (work / ".tablesafe.yaml").write_text(CONFIG)
    (work / "template.json").write_text(json.dumps(SUPPRESSIONS_TEMPLATE, indent=1))
    return run_checkov("-f", "template.json", "--external-checks-dir", CHECKS_DIR, cwd=work)


def test_checkov_skip_metadata_is_honoured(suppression_run: CheckovRun) -> None:
    ts003 = suppression_run.record("TS003", "SkippedByCheckov")["check_result"]
    assert ts003 == {"result": "SKIPPED", "suppress_comment": "a checkov skip of a TS check"}
    assert suppression_run.record("CKV_AWS_28", "SkippedByCheckov")["check_result"]["result"] == "SKIPPED"
    assert suppression_run.record("TS001", "SkippedByCheckov")["check_result"]["result"] == "PASSED"


def test_tablesafe_metadata_suppressions_are_honoured(suppression_run: CheckovRun) -> None:
    suppressed = suppression_run.record("TS003", "SuppressedByTablesafe")["check_result"]
    assert suppressed["result"] == "SKIPPED"
    assert suppressed["suppress_comment"] == "tablesafe: cache, rebuilt on deploy"
    assert suppressed["tablesafe_findings"][0]["suppressed"] is True
    expired = suppression_run.record("TS003", "ExpiredSuppression")["check_result"]
    assert expired["result"] == "FAILED"
    assert "expired on 2020-01-31" in expired["tablesafe_findings"][0]["message"]
    short = suppression_run.record("TS003", "ShortReason")["check_result"]
    assert short["result"] == "FAILED"
    assert "at least 10 characters" in short["tablesafe_findings"][0]["message"]


def test_config_file_applies(suppression_run: CheckovRun) -> None:
    exempt = suppression_run.record("TS003", "ExemptInConfig")["check_result"]
    assert (exempt["result"], exempt["suppress_comment"]) == (
        "SKIPPED",
        "tablesafe: exempted in the team's configuration",
    )
    # min_recovery_period_days: 35, and no RecoveryPeriodInDays means DynamoDB's 35 days
    assert suppression_run.record("TS007", "ExemptInConfig")["check_result"]["result"] == "PASSED"


def test_bad_second_replica_fails_ts_checks_but_not_ckv_aws_165(suppression_run: CheckovRun) -> None:
    assert (
        suppression_run.record("CKV_AWS_165", "GlobalSecondReplicaBad")["check_result"]["result"] == "PASSED"
    )
    for check_id in ("TS001", "TS003"):
        result = suppression_run.record(check_id, "GlobalSecondReplicaBad")["check_result"]
        assert result["result"] == "FAILED", check_id
        assert [f["replica_region"] for f in result["tablesafe_findings"]] == ["eu-west-1"]


# --- where the checks come from: installed, editable, a clone, --external-checks-git -----------


def test_checkov_dir_prints_the_installed_checks_without_importing_checkov(
    installed_checks_dir: Path,
) -> None:
    assert installed_checks_dir.is_absolute()
    assert (installed_checks_dir / "__init__.py").is_file()
    assert (installed_checks_dir / "tablesafe_checks.py").is_file()
    probe = (
        "import sys; from tablesafe.cli import main; main(['checkov-dir']); "
        "assert not any(m == 'checkov' or m.startswith('checkov.') for m in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(installed_checks_dir)


def test_nothing_in_the_package_imports_checkov_outside_the_checks() -> None:
    sources = [
        p for d in ("tablesafe", "rules", "scanner", "cdk_aspects") for p in (REPO_ROOT / d).rglob("*.py")
    ]
    importing = {
        str(p.relative_to(REPO_ROOT))
        for p in sources
        if any(
            line.lstrip().startswith(("import checkov", "from checkov"))
            for line in p.read_text(encoding="utf-8").splitlines()
        )
    }
    assert importing == {"rules/checkov/tablesafe_checks.py"}


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))


def _retitle(rules_dir: Path, marker: str) -> None:
    """Mark TS003's title in a copy, to see which copy of the rules checkov ran."""
    module = rules_dir / "ts003_deletion_protection_missing.py"
    text = module.read_text(encoding="utf-8")
    module.write_text(text.replace('title="', f'title="{marker} ', 1), encoding="utf-8")


def test_wheel_layout_loads_tablesafe_from_beside_the_checks(run_checkov: RunCheckov, tmp_path: Path) -> None:
    """<site-packages>/tablesafe/rules/checkov, as a wheel installs it (checkov has no tablesafe)."""
    package = tmp_path / "site-packages" / "tablesafe"
    _copy_tree(REPO_ROOT / "tablesafe", package)
    _copy_tree(REPO_ROOT / "rules", package / "rules")
    _retitle(package / "rules", "[wheel]")
    run = run_checkov("-d", ASSEMBLY, "--external-checks-dir", package / "rules" / "checkov")
    assert failed(run.verdicts()) == tablesafe_verdicts(ASSEMBLY)
    assert run.record("TS003", "InvoicesF0222E8D")["check_name"].startswith("[wheel] ")


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_work_tree(tmp_path_factory.mktemp("snapshot"))


def test_a_clone_works_without_installing_tablesafe(
    run_checkov: RunCheckov, snapshot: Path, tmp_path: Path
) -> None:
    """A plain clone: the shim maps <clone>/rules to tablesafe.rules."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", snapshot.as_uri(), str(clone)], check=True)
    _retitle(clone / "rules", "[clone]")
    run = run_checkov("-d", ASSEMBLY, "--external-checks-dir", clone / "rules" / "checkov")
    assert failed(run.verdicts()) == tablesafe_verdicts(ASSEMBLY)
    assert run.record("TS003", "InvoicesF0222E8D")["check_name"].startswith("[clone] ")


def test_external_checks_git(run_checkov: RunCheckov, snapshot: Path) -> None:
    """checkov --external-checks-git file://<repo>//rules/checkov against this repository.

    checkov 3.2.427+ ignores the //subdir (bridgecrewio/checkov#7173) and loads the whole
    clone: every Python package as checks and every .json/.yaml/.yml file as a graph policy.
    The repository stays loadable that way (see the test below), so the flag works.
    """
    run = run_checkov("-d", ASSEMBLY, "--external-checks-git", f"{snapshot.as_uri()}//rules/checkov")
    assert not run.crashed, run.stderr[-2000:]
    assert failed(run.verdicts()) == tablesafe_verdicts(ASSEMBLY)


def test_every_data_file_loads_as_checkov_graph_policy_input() -> None:
    """What checkov's graph-check loader does to each .json/.yaml/.yml of a cloned repository
    (json.load, or yaml.safe_load then a JSON round trip) must not raise: YAML with
    CloudFormation short-form tags therefore lives in *.template files."""
    checked = 0
    for name in repository_files():
        path = REPO_ROOT / name
        if path.suffix not in (".json", ".yaml", ".yml") or not path.is_file():
            continue
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle) if path.suffix == ".json" else yaml.safe_load(handle)
        json.loads(json.dumps(data))
        checked += 1
    assert checked > 10


# --- checkov's parsed values back to CloudFormation ----------------------------------------------

CONVERSION_PROBE = """
import importlib.util, json, sys
from checkov.cloudformation.parser import parse
spec = importlib.util.spec_from_file_location("tablesafe_checks", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
template, _ = parse(sys.argv[2])
resources = {name: module.resource_from_conf(resource) for name, resource in template["Resources"].items()
             if name not in ("__startline__", "__endline__")}
print(json.dumps({"resources": resources, "tablesafe_from": sys.modules["tablesafe"].__file__,
                  "rules_from": sys.modules["tablesafe.rules"].__file__}))
"""


def test_checkov_parsed_resources_convert_back_to_the_template(checkov_bin: Path) -> None:
    """The fallback path: checkov's nodes (with line keys) become the plain template again,
    and the shim imports tablesafe from the repository in checkov's own Python."""
    template = FIXTURES / "rules" / "TS001" / "fail.template"
    done = subprocess.run(
        [
            str(checkov_bin.parent / "python"),
            "-c",
            CONVERSION_PROBE,
            str(CHECKS_DIR / "tablesafe_checks.py"),
            str(template),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["tablesafe_from"] == str(REPO_ROOT / "tablesafe" / "__init__.py")
    assert out["rules_from"] == str(REPO_ROOT / "rules" / "__init__.py")
    from tablesafe.loader import parse_document, read_text

    expected = parse_document(read_text(template), template)["Resources"]
    assert out["resources"] == json.loads(json.dumps(expected))
