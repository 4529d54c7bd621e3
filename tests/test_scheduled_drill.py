"""ScheduledRestoreDrill on real CDK synths: its state machine (Wait and poll states, bounded
concurrency, a Catch on every step that always runs the cleanup), its role (the drill policy),
its schedule and buckets; cdk-nag; the documentation's snippet, executed verbatim."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import JSII_QUIET, REPO_ROOT, readme_snippet

pytestmark = pytest.mark.cdk

DRILL_POLICY = json.loads((REPO_ROOT / "scanner" / "drill-policy.json").read_text())
STEPS = ("start", "poll_export", "start_rebuild", "poll_rebuild", "compare")
GIVEN_EXPORTS = "platform-drill-exports"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Stack name -> its Template: the drill beside the audit (defaults), and one with every option."""
    os.environ.update(JSII_QUIET)
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_scheduler as scheduler
    from aws_cdk.assertions import Template

    from tablesafe.cdk_aspects import ScheduledRestoreDrill, ScheduledTableAudit

    app = cdk.App(outdir=str(tmp_path_factory.mktemp("scheduled-drill")))
    env = cdk.Environment(account="111111111111", region="eu-west-1")
    beside = cdk.Stack(app, "Beside", env=env)
    audit = ScheduledTableAudit(beside, "Audit")
    ScheduledRestoreDrill(beside, "Drills", report_bucket=audit.bucket, alarm_topic=audit.topic)
    given = cdk.Stack(app, "Given", env=env)
    ScheduledRestoreDrill(
        given,
        "Drills",
        report_bucket=s3.Bucket.from_bucket_name(given, "Reports", "platform-reports"),
        export_bucket=s3.Bucket.from_bucket_name(given, "Exports", GIVEN_EXPORTS),
        export_prefix="exports/",
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.days(7)),
        tag_value="weekly",
        max_concurrency=4,
        max_cost_usd=25,
        sample=200,
        timeout=cdk.Duration.hours(2),
        keep_exports=True,
    )
    app.synth()
    return {"Beside": Template.from_stack(beside), "Given": Template.from_stack(given)}


def resources(template: Any, kind: str) -> list[dict[str, Any]]:
    return list(template.find_resources(kind).values())


def definition(template: Any) -> dict[str, Any]:
    """The drill state machine's ASL (the one with a Distributed Map named DrillEachTable)."""
    for machine in resources(template, "AWS::StepFunctions::StateMachine"):
        body = machine["Properties"]["DefinitionString"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        asl = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
        if "DrillEachTable" in asl["States"]:
            return {**asl, "TimeoutSeconds": asl.get("TimeoutSeconds")}
    raise AssertionError("no drill state machine")


def test_every_table_is_drilled_by_waits_and_polls_and_always_cleaned_up(synth: dict[str, Any]) -> None:
    asl = definition(synth["Beside"])
    assert asl["StartAt"] == "Select" and asl["States"]["Select"]["Next"] == "DrillEachTable"
    assert asl["TimeoutSeconds"] == (6 + 2) * 3600
    each = asl["States"]["DrillEachTable"]
    assert (each["ItemsPath"], each["MaxConcurrency"]) == ("$.tables", 2)
    assert each["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    states = each["ItemProcessor"]["States"]
    tasks = [state for state in states.values() if state["Type"] == "Task" and "step" in state["Parameters"]]
    assert {task["Parameters"]["step"] for task in tasks} == {*STEPS, "finish"}
    for task in tasks:
        assert task["Parameters"]["state.$"] == "$"
        (catch,) = task["Catch"]
        if task["Parameters"]["step"] == "finish":  # a failed cleanup is told, with the table
            assert (catch["Next"], catch["ResultPath"]) == ("CleanupFailed", "$.cleanup_error")
        else:
            assert catch == {"ErrorEquals": ["States.ALL"], "Next": "Finish", "ResultPath": "$.error"}
    for wait, poll in (("WaitForExport", "PollExport"), ("WaitForRebuild", "PollRebuild")):
        assert states[wait] == {"Type": "Wait", "SecondsPath": "$.wait", "Next": poll}
    for choice, loop in (("Exported", "WaitForExport"), ("Rebuilt", "WaitForRebuild")):
        assert states[choice]["Default"] == loop
        assert states[choice]["Choices"][0]["Variable"] == "$.done"
    assert states["CleanupFailed"]["Next"] == "DrillNotCleanedUp"
    assert states["DrillNotCleanedUp"]["Type"] == "Fail"

    def ends(name: str, seen: set[str]) -> set[str]:
        """The states a run from name can end in."""
        if name in seen:
            return set()
        seen.add(name)
        state = states[name]
        following = [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Choices", []))]
        following += [c["Next"] for c in state.get("Catch", [])]
        ending = {name} if state.get("End") or state["Type"] in ("Fail", "Succeed") else set()
        return ending.union(*(ends(n, seen) for n in following if n))

    assert ends(each["ItemProcessor"]["StartAt"], set()) == {"Finish", "DrillNotCleanedUp"}
    assert definition(synth["Given"])["States"]["DrillEachTable"]["MaxConcurrency"] == 4


def test_one_function_runs_every_step_with_the_drills_settings(synth: dict[str, Any]) -> None:
    functions = [f["Properties"] for f in resources(synth["Given"], "AWS::Lambda::Function")]
    (function,) = [f for f in functions if f["Handler"] == "tablesafe.scanner.drill_handler.step"]
    variables = function["Environment"]["Variables"]
    assert {k: v for k, v in variables.items() if isinstance(v, str)} == {
        "TABLESAFE_DRILL_BUCKET": GIVEN_EXPORTS,
        "TABLESAFE_DRILL_PREFIX": "exports",
        "TABLESAFE_REPORT_BUCKET": "platform-reports",
        "TABLESAFE_DRILL_TAG_VALUE": "weekly",
        "TABLESAFE_MAX_COST": "25",
        "TABLESAFE_SAMPLE": "200",
        "TABLESAFE_DRILL_TIMEOUT": "7200",
        "TABLESAFE_KEEP_EXPORTS": "true",
    }
    assert function["Timeout"] == 900 and function["Runtime"] == "python3.12"
    (schedule,) = resources(synth["Given"], "AWS::Scheduler::Schedule")
    assert schedule["Properties"]["ScheduleExpression"] == "rate(7 days)"
    schedules = resources(synth["Beside"], "AWS::Scheduler::Schedule")
    (monthly,) = [s for s in schedules if "restore drills" in s["Properties"]["Description"]]
    assert monthly["Properties"]["ScheduleExpression"] == "cron(0 3 1 * ? *)"


def _statements(template: Any, sid_prefix: str = "") -> list[dict[str, Any]]:
    found = []
    for policy in resources(template, "AWS::IAM::Policy"):
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_the_role_is_the_drill_policy_on_the_drills_buckets(synth: dict[str, Any]) -> None:
    """The drill policy's statements, S3 narrowed to the export bucket and prefix; deletion only
    of tablesafe-drill-* tables; results only under drills/ of the report bucket."""
    by_sid = {s.get("Sid"): s for s in _statements(synth["Given"]) if s.get("Sid")}
    for statement in DRILL_POLICY["Statement"]:
        assert as_list(by_sid[statement["Sid"]]["Action"]) == as_list(statement["Action"])
    delete = by_sid["BuildCompareAndDeleteOnlyScratchTables"]["Resource"]
    scratch = ":dynamodb:*:*:table/tablesafe-drill-*"
    assert delete == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, scratch]]}
    exports = json.dumps(by_sid["ExportObjectsUnderTheDrillPrefix"]["Resource"])
    assert GIVEN_EXPORTS in exports and "/exports/*" in exports
    assert json.dumps(by_sid["TheExportBucket"]["Resource"]).count(GIVEN_EXPORTS) == 1
    assert by_sid["WriteResults"]["Action"] == "s3:PutObject"
    assert "platform-reports/drills/*" in json.dumps(by_sid["WriteResults"]["Resource"])
    assert by_sid["FindTaggedTables"]["Action"] == "tag:GetResources"
    every = {a for s in _statements(synth["Given"]) for a in as_list(s["Action"])}
    assert "dynamodb:DeleteTable" in every and not [a for a in every if a.endswith(":*")]


def test_the_export_bucket_lets_no_export_linger(synth: dict[str, Any]) -> None:
    buckets = [b["Properties"] for b in resources(synth["Beside"], "AWS::S3::Bucket")]
    (exports,) = [b for b in buckets if "VersioningConfiguration" not in b]  # the audit's bucket is versioned
    (rule,) = exports["LifecycleConfiguration"]["Rules"]
    assert (rule["Prefix"], rule["ExpirationInDays"], rule["Status"]) == ("tablesafe-drills/", 7, "Enabled")
    assert exports["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    (encryption,) = exports["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_inconsistent_options_are_refused() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from tablesafe.cdk_aspects import ScheduledRestoreDrill

    stack = cdk.Stack(cdk.App(), "Refused")
    reports = s3.Bucket.from_bucket_name(stack, "Reports", "reports")
    with pytest.raises(ValueError, match="export_prefix must name a folder"):
        ScheduledRestoreDrill(stack, "A", report_bucket=reports, export_prefix="/")
    with pytest.raises(ValueError, match="max_concurrency must be at least 1, not 0"):
        ScheduledRestoreDrill(stack, "B", report_bucket=reports, max_concurrency=0)


def test_the_documented_snippet_runs_and_cdk_nag_finds_nothing_unacknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/drill.md's construct snippet, verbatim (it adds cdk-nag's AwsSolutions pack); then
    the same app with a bare bucket, which the pack must report: it ran."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "drill_snippet"}
    exec(compile(readme_snippet("scheduled_drill"), "<docs/drill.md snippet>", "exec"), namespace)
    assert any((Path(namespace["app"].outdir)).glob("*.template.json"))

    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    from tablesafe.cdk_aspects import ScheduledRestoreDrill

    app = cdk.App(outdir=str(tmp_path / "nag"))
    stack = cdk.Stack(app, "NagDrill")
    ScheduledRestoreDrill(stack, "Drills", report_bucket=s3.Bucket.from_bucket_name(stack, "R", "reports"))
    s3.Bucket(cdk.Stack(app, "Control"), "Bare")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "nag" / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    paths = {
        (violation["ruleName"], construct["constructPath"])
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert ("AwsSolutions-S1", "Control/Bare/Resource") in paths
    assert {path for _, path in paths if not path.startswith("Control/")} == set()
