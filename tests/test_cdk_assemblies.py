"""``tablesafe check cdk.out --format json`` on real synthesized CDK apps.

The apps are in ``tests/cdk_apps.py``; the session fixture ``cdk_assemblies`` synthesizes
them once. Every assertion goes through the JSON contract of SPEC.md. Logical IDs are
read from the synthesized templates, stack names and template files from the manifests.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.cdk

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CDK_OUT = REPO_ROOT / "fixtures" / "sample-cdk.out"
METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"

TABLE = "AWS::DynamoDB::Table"
GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"
SLUGS = {
    "TS001": "pitr-missing",
    "TS002": "pitr-deprecated-prop",
    "TS003": "deletion-protection-missing",
    "TS004": "removal-policy-not-retain",
    "TS005": "table-v2-swap",
    "TS006": "table-replacement",
    "TS007": "pitr-recovery-period-short",
}
WARNING_RULES = {"TS007"}
FINDING_KEYS = {
    "rule_id",
    "rule",
    "severity",
    "message",
    "source",
    "stack",
    "logical_id",
    "construct_path",
    "resource_type",
    "replica_region",
    "file",
    "line",
    "table_name",
    "table_arn",
    "remediation",
    "remediation_code",
    "suppressed",
    "suppression_reason",
}

Triple = tuple[str, str, str | None]


@dataclass(frozen=True)
class Loc:
    """Where a table's findings must point.

    ``stack`` is the JSON ``stack`` field: the manifest's stack name, and for a nested
    stack that name + "/" + the nested stack's construct path relative to its parent.
    ``construct_id`` is the id whose logical ID is looked up in the template.
    """

    stack: str
    construct_id: str
    resource_type: str = TABLE

    @property
    def top_stack(self) -> str:
        return self.stack.split("/", 1)[0]

    @property
    def nested(self) -> bool:
        return "/" in self.stack


@dataclass(frozen=True)
class Expected:
    findings: frozenset[Triple]
    exit_code: int
    tables: int
    """Table resources (a global table counts once, whatever its replicas)."""
    locations: dict[str, Loc]
    """Construct path -> location, for every table of the app (with or without findings)."""


EXPECTED: dict[str, Expected] = {
    # (a) fully safe
    "safe": Expected(
        findings=frozenset(),
        exit_code=0,
        tables=1,
        locations={"Safe/Orders/Resource": Loc("Safe", "Orders")},
    ),
    # (b) nothing set, (c) DESTROY; next to a safe table
    "unsafe": Expected(
        findings=frozenset(
            {
                ("TS001", "Unsafe/Bare/Resource", None),
                ("TS003", "Unsafe/Bare/Resource", None),
                ("TS004", "Unsafe/Scratch/Resource", None),
            }
        ),
        exit_code=1,
        tables=3,
        locations={
            "Unsafe/Fine/Resource": Loc("Unsafe", "Fine"),
            "Unsafe/Bare/Resource": Loc("Unsafe", "Bare"),
            "Unsafe/Scratch/Resource": Loc("Unsafe", "Scratch"),
        },
    ),
    # (d) TableV2: us-east-1 (stack region) + us-west-2 (inherits) + eu-west-1 (overrides
    # PITR and deletion protection off); a 3-day PITR window where PITR is on.
    "global": Expected(
        findings=frozenset(
            {
                ("TS001", "Global/Orders/Resource", "eu-west-1"),
                ("TS003", "Global/Orders/Resource", "eu-west-1"),
                ("TS007", "Global/Orders/Resource", "us-east-1"),
                ("TS007", "Global/Orders/Resource", "us-west-2"),
            }
        ),
        exit_code=1,
        tables=1,
        locations={"Global/Orders/Resource": Loc("Global", "Orders", GLOBAL_TABLE)},
    ),
    # (e) nested stack
    "nested": Expected(
        findings=frozenset(
            {
                ("TS001", "WithNested/Inner/Orders/Resource", None),
                ("TS003", "WithNested/Inner/Orders/Resource", None),
            }
        ),
        exit_code=1,
        tables=2,
        locations={
            "WithNested/Audit/Resource": Loc("WithNested", "Audit"),
            "WithNested/Inner/Orders/Resource": Loc("WithNested/Inner", "Orders"),
        },
    ),
    # (f) stage Prod, stack Svc (stackName Prod-Svc), with its own nested stack
    "stage": Expected(
        findings=frozenset(
            {
                ("TS001", "Prod/Svc/Bare/Resource", None),
                ("TS003", "Prod/Svc/Bare/Resource", None),
                ("TS004", "Prod/Svc/Scratch/Resource", None),
                ("TS001", "Prod/Svc/Inner/Orders/Resource", None),
                ("TS003", "Prod/Svc/Inner/Orders/Resource", None),
            }
        ),
        exit_code=1,
        tables=4,
        locations={
            "Prod/Svc/Fine/Resource": Loc("Prod-Svc", "Fine"),
            "Prod/Svc/Bare/Resource": Loc("Prod-Svc", "Bare"),
            "Prod/Svc/Scratch/Resource": Loc("Prod-Svc", "Scratch"),
            "Prod/Svc/Inner/Orders/Resource": Loc("Prod-Svc/Inner", "Orders"),
        },
    ),
    # (g) deprecated point_in_time_recovery=True, otherwise safe; plus a safe stack
    "deprecated_flag_on": Expected(
        findings=frozenset({("TS002", "Deprecated/Orders/Resource", None)}),
        exit_code=1,
        tables=2,
        locations={
            "Deprecated/Orders/Resource": Loc("Deprecated", "Orders"),
            "Current/Orders/Resource": Loc("Current", "Orders"),
        },
    ),
    "deprecated_flag_off": Expected(
        findings=frozenset(),
        exit_code=0,
        tables=2,
        locations={
            "Deprecated/Orders/Resource": Loc("Deprecated", "Orders"),
            "Current/Orders/Resource": Loc("Current", "Orders"),
        },
    ),
    # (h) L1 CfnTable: Fn::If on condition ProtectTables, Ref to parameter EnablePitr
    "conditional": Expected(
        findings=frozenset(
            {
                ("TS001", "Conditional/Legacy", None),
                ("TS003", "Conditional/Legacy", None),
            }
        ),
        exit_code=1,
        tables=1,
        locations={"Conditional/Legacy": Loc("Conditional", "Legacy")},
    ),
    # the README sample (fixtures/sample-app), synthesized afresh
    "sample": Expected(
        findings=frozenset(
            {
                ("TS002", "Orders/SessionCache/Resource", None),
                ("TS003", "Orders/SessionCache/Resource", None),
                ("TS004", "Orders/SessionCache/Resource", None),
                ("TS001", "Orders/CustomerProfiles/Resource", "eu-west-1"),
                ("TS007", "Orders/CustomerProfiles/Resource", "us-east-1"),
                ("TS007", "Orders/CustomerProfiles/Resource", "us-west-2"),
                ("TS003", "Orders/Billing/Invoices/Resource", None),
            }
        ),
        exit_code=1,
        tables=4,
        locations={
            "Orders/OrdersTable/Resource": Loc("Orders", "OrdersTable"),
            "Orders/SessionCache/Resource": Loc("Orders", "SessionCache"),
            "Orders/CustomerProfiles/Resource": Loc("Orders", "CustomerProfiles", GLOBAL_TABLE),
            "Orders/Billing/Invoices/Resource": Loc("Orders/Billing", "Invoices"),
        },
    ),
}
FLAG_OFF_APPS = {"deprecated_flag_off"}


# --- reading the assembly ----------------------------------------------------------


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def stack_templates(cdk_out: Path) -> dict[str, Path]:
    """Stack name -> template file, from manifest.json and the nested assembly manifests."""
    found: dict[str, Path] = {}
    manifest = _load(cdk_out / "manifest.json")
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        props = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            found[props.get("stackName", artifact_id)] = cdk_out / props["templateFile"]
        elif artifact["type"] == "cdk:cloud-assembly":
            found.update(stack_templates(cdk_out / props["directoryName"]))
    return found


def template_of(cdk_out: Path, loc: Loc) -> Path:
    template = stack_templates(cdk_out)[loc.top_stack]
    if not loc.nested:
        return template
    nested = sorted(template.parent.glob("*.nested.template.json"))
    assert len(nested) == 1, nested  # every app here has at most one nested stack
    return nested[0]


def logical_id_of(template: Path, loc: Loc) -> str:
    """The real logical ID: construct id (+ 8-hex hash for paths deeper than one)."""
    pattern = re.compile(rf"{re.escape(loc.construct_id)}([0-9A-F]{{8}})?")
    matches = [
        logical_id
        for logical_id, resource in _load(template)["Resources"].items()
        if pattern.fullmatch(logical_id) and resource["Type"] == loc.resource_type
    ]
    assert len(matches) == 1, (template, loc, matches)
    return matches[0]


# --- running the CLI ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    proc: subprocess.CompletedProcess[str]
    data: dict[str, Any]
    cwd: Path
    cdk_out: Path

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.data["findings"]

    def triples(self) -> list[Triple]:
        return [(f["rule_id"], f["construct_path"], f["replica_region"]) for f in self.findings]


def _parse(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{proc.stderr}"
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:  # pragma: no cover - reported by the assertion
        raise AssertionError(f"not JSON: {exc}\n{proc.stdout[:2000]}\n{proc.stderr}") from exc


@pytest.fixture(scope="session")
def check(cdk_assemblies: dict[str, Path], run_cli):
    """check(app) -> Run of ``tablesafe check cdk.out --format json``, run once per app
    from the directory that holds ``cdk.out``, as a user in the app's folder would."""

    @functools.cache
    def run(app: str) -> Run:
        cdk_out = cdk_assemblies[app]
        proc = run_cli("check", cdk_out.name, "--format", "json", cwd=cdk_out.parent)
        return Run(proc, _parse(proc), cdk_out.parent, cdk_out)

    return run


# --- tests -------------------------------------------------------------------------


def test_every_app_has_expectations(cdk_assemblies: dict[str, Path]) -> None:
    """The replacement and move pairs are judged as pairs, in test_baseline.py."""
    pairs = {"replacement_before", "replacement_after", "move_before", "move_after"}
    assert set(cdk_assemblies) == set(EXPECTED) | pairs


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_expectations_match_the_synthesized_templates(cdk_assemblies, app: str) -> None:
    """The expectations themselves: every table of the app is listed, and found."""
    cdk_out = cdk_assemblies[app]
    tables = [
        logical_id
        for template in cdk_out.rglob("*.template.json")
        for logical_id, resource in _load(template)["Resources"].items()
        if resource["Type"] in (TABLE, GLOBAL_TABLE)
    ]
    expected = EXPECTED[app]
    assert len(tables) == expected.tables == len(expected.locations)
    assert {t[1] for t in expected.findings} <= set(expected.locations)
    for loc in expected.locations.values():
        logical_id_of(template_of(cdk_out, loc), loc)


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_findings_are_exactly_the_expected_ones(check, app: str) -> None:
    run = check(app)
    triples = run.triples()
    duplicates = [t for t, n in Counter(triples).items() if n > 1]
    assert not duplicates, f"reported more than once: {duplicates}"
    assert set(triples) == EXPECTED[app].findings


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_json_contract_shape(check, app: str) -> None:
    run = check(app)
    assert run.data["tool"] == "tablesafe"
    assert isinstance(run.data["version"], str)
    assert run.data["errors"] == []
    for finding in run.findings:
        assert set(finding) >= FINDING_KEYS, FINDING_KEYS - set(finding)
        assert finding["rule"] == SLUGS[finding["rule_id"]]
        expected_severity = "warning" if finding["rule_id"] in WARNING_RULES else "error"
        assert finding["severity"] == expected_severity
        assert finding["source"] == "template"
        assert finding["suppressed"] is False
        assert finding["suppression_reason"] is None
        assert finding["table_name"] is None and finding["table_arn"] is None
        assert isinstance(finding["message"], str) and finding["message"]
        assert not finding["construct_path"].startswith("/")


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_findings_point_at_the_real_resource(check, app: str) -> None:
    run = check(app)
    locations = EXPECTED[app].locations
    for finding in run.findings:
        loc = locations[finding["construct_path"]]
        template = template_of(run.cdk_out, loc)
        assert finding["stack"] == loc.stack
        assert finding["logical_id"] == logical_id_of(template, loc)
        assert finding["resource_type"] == loc.resource_type
        assert (run.cwd / finding["file"]).resolve() == template.resolve(), finding["file"]
        if loc.resource_type == TABLE:
            assert finding["replica_region"] is None
        if loc.nested:
            assert finding["file"].endswith(".nested.template.json")


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_summary_matches_findings(check, app: str) -> None:
    run = check(app)
    severities = Counter(f["severity"] for f in run.findings)
    assert run.data["summary"] == {
        "tables": EXPECTED[app].tables,
        "findings": len(run.findings),
        "errors": severities["error"],
        "warnings": severities["warning"],
        "suppressed": sum(1 for f in run.findings if f["suppressed"]),
    }


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_exit_code(check, app: str) -> None:
    assert check(app).proc.returncode == EXPECTED[app].exit_code


def test_fail_on_never_exits_zero_but_still_reports(cdk_assemblies, run_cli) -> None:
    proc = run_cli("check", cdk_assemblies["unsafe"], "--format", "json", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    triples = {(f["rule_id"], f["construct_path"], f["replica_region"]) for f in data["findings"]}
    assert triples == EXPECTED["unsafe"].findings


def _flag_notices(run: Run) -> list[dict[str, Any]]:
    return [n for n in run.data.get("notices", []) if METADATA_FLAG in n.get("message", "")]


def test_deprecated_prop_needs_the_metadata_flag(check) -> None:
    on, off = check("deprecated_flag_on"), check("deprecated_flag_off")
    assert ("TS002", "Deprecated/Orders/Resource", None) in on.triples()
    assert not [t for t in off.triples() if t[0] == "TS002"]
    # the same template either way: only the assembly metadata differs
    template = "Deprecated.template.json"
    assert _load(on.cdk_out / template) == _load(off.cdk_out / template)


def test_flag_off_gives_exactly_one_info_notice(check) -> None:
    run = check("deprecated_flag_off")
    notices = _flag_notices(run)
    assert len(notices) == 1, run.data.get("notices")
    assert notices[0]["level"] == "info"


@pytest.mark.parametrize("app", sorted(set(EXPECTED) - FLAG_OFF_APPS))
def test_no_flag_notice_when_the_flag_is_on(check, app: str) -> None:
    assert _flag_notices(check(app)) == []


def test_fail_closed_messages_name_the_condition_and_the_parameter(check) -> None:
    by_rule = {f["rule_id"]: f for f in check("conditional").findings}
    # DeletionProtectionEnabled: {"Fn::If": ["ProtectTables", true, false]}, where the
    # condition is {"Fn::Equals": [{"Ref": "EnableDeletionProtection"}, "true"]}
    assert "ProtectTables" in by_rule["TS003"]["message"]
    assert "EnableDeletionProtection" in by_rule["TS003"]["message"]
    # PointInTimeRecoveryEnabled: {"Ref": "EnablePitr"}
    assert "EnablePitr" in by_rule["TS001"]["message"]


def test_global_table_findings_are_per_replica(check) -> None:
    run = check("global")
    template = _load(stack_templates(run.cdk_out)["Global"])
    (resource,) = (r for r in template["Resources"].values() if r["Type"] == GLOBAL_TABLE)
    regions = {replica["Region"] for replica in resource["Properties"]["Replicas"]}
    assert regions == {"us-east-1", "us-west-2", "eu-west-1"}
    for finding in run.findings:
        assert finding["replica_region"] in regions


def test_committed_sample_templates_match_a_fresh_synth(cdk_assemblies) -> None:
    fresh_dir = cdk_assemblies["sample"]
    fresh = {p.relative_to(fresh_dir): p for p in fresh_dir.rglob("*.template.json")}
    committed = {p.relative_to(SAMPLE_CDK_OUT): p for p in SAMPLE_CDK_OUT.rglob("*.template.json")}
    hint = (
        "fixtures/sample-cdk.out is stale; regenerate it with: cd fixtures/sample-app && "
        "rm -rf ../sample-cdk.out && CDK_OUTDIR=../sample-cdk.out python app.py"
    )
    assert sorted(committed) == sorted(fresh), hint
    for name, path in fresh.items():
        assert _load(committed[name]) == _load(path), f"{name}: {hint}"


def test_committed_sample_is_a_complete_assembly() -> None:
    for name in ("manifest.json", "tree.json", "Orders.metadata.json", "Orders.template.json"):
        assert (SAMPLE_CDK_OUT / name).is_file(), name
    assert list(SAMPLE_CDK_OUT.glob("*.nested.template.json"))


def test_committed_sample_check(run_cli) -> None:
    proc = run_cli("check", SAMPLE_CDK_OUT, "--format", "json")
    data = _parse(proc)
    assert proc.returncode == 1
    triples = {(f["rule_id"], f["construct_path"], f["replica_region"]) for f in data["findings"]}
    assert triples == EXPECTED["sample"].findings
