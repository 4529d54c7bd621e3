"""TS005/TS006 on real assembly pairs: `check --baseline` with a previous assembly, with the
deployed stacks (a moto server over HTTP), and with the lockfile; `tablesafe lock`; the
CDK Aspect against a lockfile.

The pair is ``replacement_before`` / ``replacement_after`` of ``tests/cdk_apps.py``: one
construct per replacement cause and per safe change, in a stack, a stage and a nested stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FAKE_CREDENTIALS, RunCli

pytestmark = pytest.mark.cdk

REPLACED = {
    ("TS005", "Repl", "Swap"),
    ("TS006", "Repl", "Keys"),
    ("TS006", "Repl", "Lsi"),
    ("TS006", "Repl", "Named"),
    ("TS006", "Repl", "Import"),
    ("TS006", "Repl", "GroupMoved"),
    ("TS006", "Repl", "Dropped"),
    ("TS006", "Prod-Svc", "Keys"),
    ("TS006", "WithNested/Inner", "Orders"),
}
"""(rule, stack, logical ID without its hash) of every finding the change must produce;
Retired (RETAIN, removed) and the safe changes (Billing, Gsi, Pitr, Tagged, Stream) have none."""


def _replacement_findings(stdout: str) -> set[tuple[str, str, str]]:
    findings = json.loads(stdout)["findings"]
    return {
        (f["rule_id"], f["stack"], f["logical_id"][:-8])
        for f in findings
        if f["rule_id"] in ("TS005", "TS006")
    }


@pytest.fixture(scope="module")
def pair(cdk_assemblies: dict[str, Path]) -> tuple[Path, Path]:
    return cdk_assemblies["replacement_before"], cdk_assemblies["replacement_after"]


def test_baseline_assembly_reports_each_replacement_and_no_safe_change(
    run_cli: RunCli, pair: tuple[Path, Path]
) -> None:
    before, after = pair
    result = run_cli("check", after, "--baseline", before, "--format", "json")
    assert result.returncode == 1, result.stderr
    assert _replacement_findings(result.stdout) == REPLACED
    report = json.loads(result.stdout)
    messages = {f["logical_id"][:-8]: f["message"] for f in report["findings"] if f["rule_id"] == "TS006"}
    assert "creates a new, empty one" in messages["Keys"] and "pk:S (HASH) to id:S (HASH)" in messages["Keys"]
    assert "deletes the old table and its data" in messages["Dropped"]
    assert "a likely rename" in messages["GroupMoved"] and "orphans the old table" in messages["GroupMoved"]
    swap = next(f for f in report["findings"] if f["rule_id"] == "TS005")
    assert "Update of resource type is not permitted" in swap["message"]
    assert "cdk import" in swap["remediation"]
    orphaned = [n["message"] for n in report["notices"] if "Retired" in n["message"]]
    assert orphaned and "orphans the old table" in orphaned[0] and "cdk import" in orphaned[0]


def test_tables_moved_to_another_stack_are_replacements(
    run_cli: RunCli, cdk_assemblies: dict[str, Path], tmp_path: Path
) -> None:
    """A move keeps the data only in the stack it left: the new stack creates an empty table
    (with Retain the old one is orphaned, with Delete it is deleted); a new table elsewhere
    with its own id and keys is silent. The lockfile sees the same as --baseline."""
    before, after = cdk_assemblies["move_before"], cdk_assemblies["move_after"]
    by_baseline = json.loads(run_cli("check", after, "--baseline", before, "--format", "json").stdout)
    run_cli("lock", before, cwd=tmp_path)
    by_lock = json.loads(run_cli("check", after, "--format", "json", cwd=tmp_path).stdout)
    for report in (by_baseline, by_lock):
        moves = {
            f["construct_path"]: f["message"]
            for f in report["findings"]
            if f["rule_id"] in ("TS005", "TS006")
        }
        assert set(moves) == {"Orders/Products/Resource", "Orders/ShoppingCarts/Resource"}
        products, carts = moves["Orders/Products/Resource"], moves["Orders/ShoppingCarts/Resource"]
        assert "moves from stack Catalog to stack Orders" in products
        assert "creates a new, empty table in stack Orders" in products
        assert "orphans the old table (Retain)" in products
        assert "matched by key schema" in carts and "deletes the old table and its data" in carts
        assert not any("Products" in n["message"] or "Carts" in n["message"] for n in report["notices"])


def test_replacement_fixes_match_the_cause(pair: tuple[Path, Path]) -> None:
    """A rename keeps the real old logical ID (after `cdk refactor`); a key change gets no
    logical-ID fix but the S3 export route; a swap gets the migration with its construct id."""
    from tablesafe.config import Config
    from tablesafe.engine import build_report
    from tablesafe.loader import load_paths
    from tablesafe.remediation import of_finding

    before, after = pair
    loaded = load_paths([str(after)])
    from tablesafe.baseline import compare

    compare(loaded, [str(after)], str(before), None, after)
    fixes = {
        (f.rule.id, (f.table.logical_id or "")[:-8]): of_finding(f)
        for f in build_report(loaded, Config()).findings
        if f.rule.id in ("TS005", "TS006")
    }
    renamed = fixes["TS006", "GroupMoved"]
    old_id = next(
        c.old.logical_id for c in loaded.changes if c.new and c.new.logical_id.startswith("GroupMoved")
    )
    assert old_id.startswith("Moved") and f".override_logical_id('{old_id}')" in renamed.cdk_python
    assert f'.overrideLogicalId("{old_id}")' in renamed.cdk_typescript
    assert "cdk refactor --unstable=refactor" in renamed.cli
    keys = fixes["TS006", "Keys"]
    assert "override" not in keys.cdk_python + keys.cdk_typescript
    assert "export-table-to-point-in-time" in keys.cli and "KeySchema" in keys.summary
    swap = fixes["TS005", "Swap"]
    assert "dynamodb.TableV2(self, 'Swap'" in swap.cdk_python and "cdk import Repl" in swap.cli


def test_unchanged_assembly_has_no_replacement_findings(run_cli: RunCli, pair: tuple[Path, Path]) -> None:
    before, _ = pair
    result = run_cli("check", before, "--baseline", before, "--format", "json")
    assert _replacement_findings(result.stdout) == set()


def test_lockfile_catches_replacements_and_records_a_deliberate_migration(
    run_cli: RunCli, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    before, after = pair
    locked = run_cli("lock", before, cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    lock_path = tmp_path / "tablesafe.lock.json"
    document = json.loads(lock_path.read_text())
    entries = {(e["stack"], e["logical_id"][:-8]): e for e in document["tables"]}
    assert entries[("Repl", "Keys")]["properties"]["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"}
    ]
    assert entries[("Repl", "Swap")]["type"] == "AWS::DynamoDB::Table"
    assert entries[("Repl", "Named")]["table_name"] == "orders"
    assert entries[("Repl", "Dropped")]["deletion_policy"] == "Delete"
    assert ("WithNested/Inner", "Orders") in entries and ("Prod-Svc", "Keys") in entries

    # check finds the lock from its working directory, with no --baseline
    checked = run_cli("check", after, "--format", "json", cwd=tmp_path)
    assert _replacement_findings(checked.stdout) == REPLACED

    refused = run_cli("lock", after, cwd=tmp_path)
    assert refused.returncode == 2
    assert "--reason" in refused.stderr and "KeySchema changes" in refused.stderr
    assert json.loads(lock_path.read_text()) == document, "a refused re-lock must not write"

    relocked = run_cli("lock", after, "--reason", "orders v2: keys by id, data moved by export", cwd=tmp_path)
    assert relocked.returncode == 0, relocked.stderr
    history = json.loads(lock_path.read_text())["history"]
    assert history[-1]["reason"] == "orders v2: keys by id, data moved by export"
    assert len(history[-1]["changes"]) == len(REPLACED) + 1  # + Retired leaving the stack
    assert _replacement_findings(run_cli("check", after, "--format", "json", cwd=tmp_path).stdout) == set()


# --- the deployed stacks, in a moto server --------------------------------------------------


def _without_bootstrap_check(template: dict[str, Any]) -> dict[str, Any]:
    """moto cannot resolve CDK's SSM bootstrap-version parameter: drop it and its rule."""
    template = dict(template)
    template.pop("Rules", None)
    parameters = {k: v for k, v in template.get("Parameters", {}).items() if k != "BootstrapVersion"}
    template.pop("Parameters", None)
    return {**template, "Parameters": parameters} if parameters else template


def _deploy(url: str, assembly: Path, stacks: list[str]) -> None:
    """Create the assembly's stacks in moto; nested templates go to a moto bucket (moto
    cannot reach CDK's asset bucket, which `cdk deploy` would have published to)."""
    import boto3

    cloudformation = boto3.client("cloudformation", endpoint_url=url)
    s3 = boto3.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="nested-templates")
    for stack in stacks:
        template = _without_bootstrap_check(json.loads((assembly / f"{stack}.template.json").read_text()))
        assets = json.loads((assembly / f"{stack}.assets.json").read_text())["files"]
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::CloudFormation::Stack":
                continue
            url_parts = json.dumps(resource["Properties"]["TemplateURL"])
            asset = next(a for a in assets.values() if a["destinations"] and _object_key(a) in url_parts)
            nested = _without_bootstrap_check(json.loads((assembly / asset["source"]["path"]).read_text()))
            s3.put_object(Bucket="nested-templates", Key=_object_key(asset), Body=json.dumps(nested))
            resource["Properties"]["TemplateURL"] = (
                f"https://nested-templates.s3.amazonaws.com/{_object_key(asset)}"
            )
        cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))


def _object_key(asset: dict[str, Any]) -> str:
    return next(iter(asset["destinations"].values()))["objectKey"]


def test_deployed_baseline_reads_each_stack_and_nested_stack_through_get_template(
    run_cli: RunCli, pair: tuple[Path, Path], moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import reset_moto

    before, after = pair
    reset_moto(moto_server)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")  # the account the apps deploy to
    _deploy(moto_server, before, ["Repl", "WithNested"])  # Prod-Svc is not deployed yet
    endpoint = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_server}
    result = run_cli("check", after, "--baseline", "deployed", "--format", "json", env=endpoint)
    assert result.returncode == 1, result.stderr
    assert _replacement_findings(result.stdout) == REPLACED - {("TS006", "Prod-Svc", "Keys")}

    monkeypatch.setenv("MOTO_ACCOUNT_ID", "222222222222")
    wrong_account = run_cli("check", after, "--baseline", "deployed", "--format", "json", env=endpoint)
    assert wrong_account.returncode == 2
    assert "deployed:Repl: baseline: the assembly deploys it to account 111111111111" in wrong_account.stderr
    assert "Traceback" not in wrong_account.stderr


# --- bad baselines and lockfiles ----------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: ["--baseline", str(tmp / "missing.out")], "missing.out: baseline does not exist"),
        (
            lambda tmp: ["--baseline", str(_write(tmp / "notes.txt", "hello"))],
            "baseline: not a CloudFormation",
        ),
        (lambda tmp: ["--lock", str(_write(tmp / "corrupt.lock.json", "{"))], "lockfile is corrupt"),
        (
            lambda tmp: ["--lock", str(_write(tmp / "new.lock.json", '{"lock_version": 9, "tables": []}'))],
            "newer tablesafe (lock version 9",
        ),
        (lambda tmp: ["--lock", str(_write(tmp / "list.lock.json", "[]"))], "not a tablesafe lockfile"),
    ],
    ids=["missing-baseline", "not-an-assembly", "corrupt-lock", "newer-lock", "not-a-lock"],
)
def test_bad_baseline_or_lock_is_one_line_exit_2_and_the_rest_is_reported(
    run_cli: RunCli, pair: tuple[Path, Path], tmp_path: Path, make: Any, expected: str
) -> None:
    _, after = pair
    result = run_cli("check", after, *make(tmp_path), "--format", "json")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert {f["rule_id"] for f in json.loads(result.stdout)["findings"]} >= {"TS001", "TS003"}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_deployed_baseline_needs_an_assembly(run_cli: RunCli, tmp_path: Path) -> None:
    template = _write(tmp_path / "t.template.json", json.dumps({"Resources": {}}))
    result = run_cli("check", template, "--baseline", "deployed")
    assert result.returncode == 2
    assert "--baseline deployed needs a cloud assembly" in " ".join(result.stdout.split())  # wrapped


# --- inside the CDK app --------------------------------------------------------------------


def _violations(outdir: Path, plugin: str) -> dict[str, set[str]]:
    """Rule name -> the construct paths of its violations in the validation report."""
    report = json.loads((outdir / "validation-report.json").read_text())
    found: dict[str, set[str]] = {}
    for violation in next(p for p in report["pluginReports"] if p["pluginName"] == plugin)["violations"]:
        paths = {c.get("constructPath") for c in violation["violatingConstructs"]}
        found.setdefault(violation["ruleName"], set()).update(paths)
    return found


def test_validator_compares_with_the_lockfile(
    run_cli: RunCli, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    import aws_cdk as cdk
    from cdk_apps import APPS

    from tablesafe.cdk_aspects import TableSafetyValidator

    before, _ = pair
    assert run_cli("lock", before, cwd=tmp_path).returncode == 0
    spec = APPS["replacement_after"]
    app = cdk.App(outdir=str(tmp_path / "out"), context=dict(spec.context))
    spec.build(app)
    cdk.Validations.of(app).add_plugins(TableSafetyValidator(lock_path=str(tmp_path / "tablesafe.lock.json")))
    with pytest.raises(Exception, match=r"\[TS006 table-replacement\] Repl/Dropped"):
        app.synth()
    violations = _violations(tmp_path / "out", "tablesafe")
    assert violations["TS005"] == {"Repl/Swap/Resource"}
    assert violations["TS006"] == {
        "Repl/Keys/Resource",
        "Repl/Lsi/Resource",
        "Repl/Named/Resource",
        "Repl/Import/Resource",
        "Repl/Group/Moved/Resource",
        "WithNested/Inner/Orders/Resource",
        "Prod/Svc/Keys/Resource",  # in a Stage: the validator of the App reaches it
        "Repl/Dropped/Resource",  # left the app: named by the construct path it had
    }


def test_nag_pack_compares_with_the_lockfile(
    run_cli: RunCli, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    import aws_cdk as cdk
    from cdk_apps import APPS

    from tablesafe.cdk_aspects import TableSafetyPack

    before, _ = pair
    assert run_cli("lock", before, cwd=tmp_path).returncode == 0
    spec = APPS["replacement_after"]
    app = cdk.App(outdir=str(tmp_path / "out"), context=dict(spec.context))
    spec.build(app)
    cdk.Validations.of(app).add_plugins(TableSafetyPack(app, lock_path=str(tmp_path / "tablesafe.lock.json")))
    with (
        pytest.warns(UserWarning, match=r"\[TS006 table-replacement\] Repl/Dropped"),
        pytest.raises(Exception, match="ValidationFailed"),
    ):
        app.synth()
    violations = _violations(tmp_path / "out", "TableSafety")
    assert violations["TableSafety-TS005"] == {"Repl/Swap/Resource"}
    assert {
        "Repl/Keys/Resource",
        "Repl/Group/Moved/Resource",
        "WithNested/Inner/Orders/Resource",
    } <= violations["TableSafety-TS006"]


def test_lock_that_cannot_be_written_is_one_line_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    template = _write(tmp_path / "t.template.json", json.dumps({"Resources": {}}))
    target = tmp_path / "missing" / "tablesafe.lock.json"
    result = run_cli("lock", template, "--output", target)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"tablesafe: error: {target}: cannot write (No such file or directory): the lockfile was not changed"
    ]
