"""ScheduledTableAudit, the member role and the GitHub workflow example, on real CDK synths.

Every stack is built in one App synthesized once for the module (jsii starts once); cdk-nag
runs on a second App in the same process. The README snippet is executed verbatim.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import JSII_QUIET, REPO_ROOT, readme_snippet

pytestmark = pytest.mark.cdk

POLICY = json.loads((REPO_ROOT / "scanner" / "audit-policy.json").read_text())
MEMBER_TEMPLATE = REPO_ROOT / "iam" / "tablesafe-member-role.template.json"
WORKFLOW = REPO_ROOT / "examples" / "github" / "tablesafe-audit.yml"
ACCOUNTS = ["222222222222", "333333333333"]
MANY = ["444444444444", "555555555555", "666666666666"]
GIVEN_BUCKET = "platform-reports"
GIVEN_TOPIC = "arn:aws:sns:eu-west-1:111111111111:platform-alerts"
AUDIT_SERVICES = {"dynamodb", "cloudformation", "ec2", "sts", "organizations"}
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
"""What the Lambda Python runtime provides besides the standard library."""


def actions_of(statement: dict[str, Any]) -> list[str]:
    listed = statement["Action"]
    return [listed] if isinstance(listed, str) else listed


def resources_of(statement: dict[str, Any]) -> list[Any]:
    listed = statement["Resource"]
    return listed if isinstance(listed, list) else [listed]


# --- one App, synthesized once -----------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def quiet_jsii() -> None:
    os.environ.update(JSII_QUIET)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Stack name -> its Template, and "outdir": the cloud assembly."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_scheduler as scheduler
    from aws_cdk import aws_sns as sns
    from aws_cdk.assertions import Template

    from tablesafe.cdk_aspects import ScheduledTableAudit, TableAuditMemberRoleStack

    outdir = tmp_path_factory.mktemp("scheduled-audit")
    app = cdk.App(outdir=str(outdir))
    env = cdk.Environment(account="111111111111", region="eu-west-1")

    def stack(name: str, **props: Any) -> cdk.Stack:
        new = cdk.Stack(app, name, env=env)
        ScheduledTableAudit(new, "Audit", **props)
        return new

    stacks = {
        "Single": stack("Single"),
        "Accounts": stack("Accounts", accounts=ACCOUNTS, regions=["us-east-1", "eu-west-1"]),
        "Org": stack("Org", organization=True, regions=["all"]),
        "Many": stack("Many", accounts=MANY, regions="all"),  # a string is one value, not its characters
    }
    given = cdk.Stack(app, "Given", env=env)
    ScheduledTableAudit(
        given,
        "Audit",
        accounts=MANY,
        regions=["all"],
        fan_out=False,
        report_bucket=s3.Bucket.from_bucket_name(given, "Bucket", GIVEN_BUCKET),
        report_prefix="audits/",
        alarm_topic=sns.Topic.from_topic_arn(given, "Topic", GIVEN_TOPIC),
        schedule=scheduler.ScheduleExpression.rate(cdk.Duration.hours(12)),
    )
    stacks["Given"] = given
    stacks["Member"] = TableAuditMemberRoleStack(app, "Member", auditor_account="111111111111")
    app.synth()
    result: dict[str, Any] = {name: Template.from_stack(s) for name, s in stacks.items()}
    result["outdir"] = outdir
    return result


def of_type(template: Any, kind: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(kind)


def only(template: Any, kind: str) -> dict[str, Any]:
    (resource,) = of_type(template, kind).values()
    return resource


def statements(template: Any) -> list[dict[str, Any]]:
    """Every IAM policy statement of a template: managed/inline policies and role policies."""
    found: list[dict[str, Any]] = []
    for policy in of_type(template, "AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    for role in of_type(template, "AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            found += inline["PolicyDocument"]["Statement"]
    return found


def functions(template: Any) -> dict[str, dict[str, Any]]:
    """Handler name (run, plan, ...) -> the function's properties."""
    return {
        f["Properties"]["Handler"].rsplit(".", 1)[1]: f["Properties"]
        for f in of_type(template, "AWS::Lambda::Function").values()
    }


def definition(template: Any) -> dict[str, Any]:
    """The state machine's ASL, with every CloudFormation token replaced by "TOKEN"."""
    body = only(template, "AWS::StepFunctions::StateMachine")["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))


# --- the resources -------------------------------------------------------------------------


def test_single_mode_is_one_function_on_a_daily_schedule(synth: dict[str, Any]) -> None:
    template = synth["Single"]
    run = functions(template)
    assert set(run) == {"run"}
    props = run["run"]
    assert props["Runtime"] in ("python3.12", "python3.11")
    assert props["Handler"] == "tablesafe.scanner.lambda_handler.run"
    assert (props["Timeout"], props["ReservedConcurrentExecutions"]) == (900, 1)
    variables = props["Environment"]["Variables"]
    assert set(variables) == {"TABLESAFE_REPORT_BUCKET", "TABLESAFE_REPORT_PREFIX", "TABLESAFE_TOPIC_ARN"}
    assert variables["TABLESAFE_REPORT_PREFIX"] == "tablesafe-audit/"
    assert variables["TABLESAFE_REPORT_BUCKET"] == {"Ref": next(iter(of_type(template, "AWS::S3::Bucket")))}
    assert variables["TABLESAFE_TOPIC_ARN"] == {"Ref": next(iter(of_type(template, "AWS::SNS::Topic")))}
    schedule = only(template, "AWS::Scheduler::Schedule")["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule["Target"]["Arn"] == {
        "Fn::GetAtt": [next(iter(of_type(template, "AWS::Lambda::Function"))), "Arn"]
    }
    assert not of_type(template, "AWS::StepFunctions::StateMachine")


def test_accounts_are_passed_to_the_function(synth: dict[str, Any]) -> None:
    variables = functions(synth["Accounts"])["run"]["Environment"]["Variables"]
    assert variables["TABLESAFE_ACCOUNTS"] == ",".join(ACCOUNTS)
    assert variables["TABLESAFE_REGIONS"] == "us-east-1,eu-west-1"
    assert variables["TABLESAFE_ROLE_NAME"] == "tablesafe-audit"
    assert "TABLESAFE_ORGANIZATION" not in variables
    assert functions(synth["Many"])["plan"]["Environment"]["Variables"]["TABLESAFE_REGIONS"] == "all"
    org = functions(synth["Org"])
    assert {name: f["Environment"]["Variables"]["TABLESAFE_ORGANIZATION"] for name, f in org.items()} == {
        "plan": "true",
        "audit_item": "true",
        "merge": "true",
    }


def test_fan_out_is_a_distributed_map_between_plan_and_merge(synth: dict[str, Any]) -> None:
    template = synth["Org"]
    handlers = functions(template)
    assert set(handlers) == {"plan", "audit_item", "merge"}
    assert "ReservedConcurrentExecutions" not in handlers["audit_item"]
    asl = definition(template)
    assert asl["StartAt"] == "Plan"
    states = asl["States"]
    assert states["Plan"]["Next"] == "AuditEachAccountRegion"
    fan_out = states["AuditEachAccountRegion"]
    assert fan_out["Type"] == "Map"
    assert fan_out["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert fan_out["ItemsPath"] == "$.items"
    assert 1 <= fan_out["MaxConcurrency"] <= 40
    assert 0 < fan_out["ToleratedFailurePercentage"] < 100
    assert fan_out["ResultPath"] is None  # item results stay out of the 256 KiB state payload
    assert fan_out["Next"] == "Merge"
    (item,) = fan_out["ItemProcessor"]["States"].values()
    assert any("Lambda.TooManyRequestsException" in retry["ErrorEquals"] for retry in item["Retry"])
    assert states["Merge"]["Parameters"] == {"run_id.$": "$.run_id"}  # the payload, nothing else
    assert states["Merge"]["End"] is True
    machine = only(template, "AWS::StepFunctions::StateMachine")["Properties"]
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    schedule = only(template, "AWS::Scheduler::Schedule")["Properties"]
    assert schedule["Target"]["Arn"] == {
        "Ref": next(iter(of_type(template, "AWS::StepFunctions::StateMachine")))
    }


def test_single_or_fan_out_is_chosen_by_the_work(synth: dict[str, Any]) -> None:
    from tablesafe.cdk_aspects.scheduled_audit import FAN_OUT_THRESHOLD, should_fan_out

    chosen = {
        name: bool(of_type(synth[name], "AWS::StepFunctions::StateMachine"))
        for name in synth
        if name != "outdir"
    }
    assert chosen == {
        "Single": False,
        "Accounts": False,
        "Org": True,
        "Many": True,
        "Given": False,
        "Member": False,
    }
    ids = [str(n).zfill(12) for n in range(FAN_OUT_THRESHOLD + 1)]
    assert not should_fan_out(organization=False, accounts=ids[:-1], regions=None)
    assert should_fan_out(organization=False, accounts=ids, regions=None)
    assert not should_fan_out(organization=False, accounts=[], regions=["all"])
    assert should_fan_out(organization=False, accounts=ids[:2], regions=["all"])
    assert should_fan_out(organization=True, accounts=[], regions=None)


def test_inconsistent_options_are_refused() -> None:
    import aws_cdk as cdk

    from tablesafe.cdk_aspects import ScheduledTableAudit

    stack = cdk.Stack(cdk.App(), "Refusals")
    with pytest.raises(ValueError, match="not both"):
        ScheduledTableAudit(stack, "Both", accounts=ACCOUNTS, organization=True)
    with pytest.raises(ValueError, match="role_name needs"):
        ScheduledTableAudit(stack, "Alone", role_name="auditor")
    with pytest.raises(ValueError, match="end with '/'"):
        ScheduledTableAudit(stack, "Prefix", report_prefix="reports")


def test_the_bucket_is_protected(synth: dict[str, Any]) -> None:
    template = synth["Single"]
    ((name, bucket),) = of_type(template, "AWS::S3::Bucket").items()
    props = bucket["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert [t["StorageClass"] for t in rule["Transitions"]] == ["STANDARD_IA"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    policy = only(template, "AWS::S3::BucketPolicy")["Properties"]
    assert policy["Bucket"] == {"Ref": name}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )


def test_the_topic_is_encrypted_and_ssl_only(synth: dict[str, Any]) -> None:
    template = synth["Single"]
    ((key_id, key),) = of_type(template, "AWS::KMS::Key").items()
    assert key["Properties"]["EnableKeyRotation"] is True
    topic = only(template, "AWS::SNS::Topic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    policy = only(template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in policy["Statement"])


def test_a_given_bucket_and_topic_are_used(synth: dict[str, Any]) -> None:
    template = synth["Given"]
    assert not of_type(template, "AWS::S3::Bucket") and not of_type(template, "AWS::SNS::Topic")
    variables = functions(template)["run"]["Environment"]["Variables"]
    assert (variables["TABLESAFE_REPORT_BUCKET"], variables["TABLESAFE_TOPIC_ARN"]) == (
        GIVEN_BUCKET,
        GIVEN_TOPIC,
    )
    assert variables["TABLESAFE_REPORT_PREFIX"] == "audits/"
    by_sid = {s.get("Sid"): s for s in statements(template)}
    assert json.dumps(by_sid["ReadAndWriteReports"]["Resource"]).endswith(
        f':s3:::{GIVEN_BUCKET}/audits/*"]]}}'
    )
    assert by_sid["ListReports"]["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{GIVEN_BUCKET}"]]
    }
    assert by_sid["PublishSummary"]["Resource"] == GIVEN_TOPIC
    assert "UseEncryptionKeys" not in by_sid
    schedule = only(template, "AWS::Scheduler::Schedule")["Properties"]
    assert schedule["ScheduleExpression"] == "rate(12 hours)"


# --- the permissions ---------------------------------------------------------------------


def policy_actions(*, organization: bool, assume: bool) -> set[str]:
    actions = {a for s in POLICY["Statement"] for a in actions_of(s)}
    return {
        a
        for a in actions
        if (organization or not a.startswith("organizations:")) and (assume or a != "sts:AssumeRole")
    }


@pytest.mark.parametrize(
    ("stack", "organization", "assume_role"),
    [("Single", False, None), ("Accounts", False, ACCOUNTS), ("Org", True, ["*"]), ("Given", False, MANY)],
)
def test_permissions_are_the_audit_policy_and_read_only(
    synth: dict[str, Any], stack: str, organization: bool, assume_role: list[str] | None
) -> None:
    """No write on DynamoDB or CloudFormation; AssumeRole only on the member role name."""
    found = statements(synth[stack])
    assert all(s["Effect"] == "Allow" for s in found)
    actions = {a for s in found for a in actions_of(s)}
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    audit = {a for a in actions if a.split(":")[0] in AUDIT_SERVICES}
    assert audit == policy_actions(organization=organization, assume=assume_role is not None)
    for action in audit - {"sts:AssumeRole"}:
        assert action.split(":")[1].startswith(("Describe", "List", "Get")), action
    assert {a for a in actions if a.startswith("s3:")} == {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}
    (assume,) = [s for s in found if "sts:AssumeRole" in actions_of(s)] or [None]
    if assume_role is None:
        assert assume is None
    else:
        assert resources_of(assume) == [
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{account}:role/tablesafe-audit"]]}
            for account in assume_role
        ]
    role = next(r for r in of_type(synth[stack], "AWS::IAM::Role").values() if r["Properties"].get("Path"))
    assert role["Properties"]["Path"] == "/tablesafe/"  # the member role trusts this path


# --- cdk-nag and tablesafe check -------------------------------------------------------------


def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(tmp_path: Path) -> None:
    """Both shapes in env-agnostic and env-specific stacks; a bare bucket proves the pack ran."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    from tablesafe.cdk_aspects import ScheduledTableAudit

    app = cdk.App(outdir=str(tmp_path))
    env = cdk.Environment(account="111111111111", region="eu-west-1")
    ScheduledTableAudit(cdk.Stack(app, "NagSingle", env=env), "Audit", accounts=ACCOUNTS)
    ScheduledTableAudit(cdk.Stack(app, "NagOrg"), "Audit", organization=True)
    ScheduledTableAudit(cdk.Stack(app, "NagFanOut", env=env), "Audit", accounts=MANY, fan_out=True)
    s3.Bucket(cdk.Stack(app, "Control"), "Bare")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    paths = {
        (v["ruleName"], c["constructPath"]) for v in plugin["violations"] for c in v["violatingConstructs"]
    }
    assert ("AwsSolutions-S1", "Control/Bare/Resource") in paths
    assert {path for _, path in paths if not path.startswith("Control/")} == set()


def test_tablesafe_check_passes_on_the_construct(synth: dict[str, Any], run_cli: Any) -> None:
    done = run_cli("check", synth["outdir"], "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["findings"] == []


# --- the code asset ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asset_dir(synth: dict[str, Any]) -> Path:
    outdir: Path = synth["outdir"]
    manifest = json.loads((outdir / "Single.assets.json").read_text())
    dirs = [
        outdir / f["source"]["path"]
        for f in manifest["files"].values()
        if f["source"].get("packaging") == "zip"
    ]
    (code,) = [d for d in dirs if (d / "tablesafe").is_dir()]
    return code


def test_the_asset_holds_the_package_and_only_pure_python_dependencies(asset_dir: Path) -> None:
    for required in (
        "tablesafe/scanner/audit.py",
        "tablesafe/rules/__init__.py",
        "yaml/__init__.py",
        "junitparser/__init__.py",
        "tablesafe/scanner/audit-policy.json",
        "tablesafe/scanner/report.html.j2",
        "jinja2/__init__.py",
        "markdown_it/__init__.py",
    ):
        assert (asset_dir / required).is_file(), required
    setuptools = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package in setuptools["packages"]:
        assert (asset_dir / package.replace(".", "/") / "__init__.py").is_file(), package
    top = {path.name for path in asset_dir.iterdir()}
    assert not top & {"tree_sitter", "tree_sitter_typescript", "tqdm", "moto", "boto3", "botocore"}, top
    assert not [p for p in asset_dir.rglob("*") if p.suffix in (".so", ".pyc") or p.name == "__pycache__"]


def test_the_asset_imports_the_handler_with_only_the_lambda_runtime(asset_dir: Path, tmp_path: Path) -> None:
    """Site-packages off (-S): the asset plus what the Lambda runtime provides (boto3 ...)."""
    import importlib.util

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, name
        source = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        (runtime / source.name).symlink_to(source)
    probe = (
        "import sys\nsys.modules['tqdm'] = None\n"
        "import tablesafe.scanner.lambda_handler as h, yaml, junitparser, jinja2, markdown_it\n"
        "import tablesafe.scanner.html_report, tablesafe.scanner.drill_handler as d\n"
        "assert callable(d.step)\n"
        "print(h.__file__, yaml.__file__, junitparser.version)\n"
        "assert all(callable(getattr(h, n)) for n in ('run', 'plan', 'audit_item', 'merge'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": f"{asset_dir}{os.pathsep}{runtime}", "PATH": os.environ.get("PATH", "")},
        cwd=tmp_path,  # not the work tree, whose tablesafe/ directory would shadow the asset's
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert all(path.startswith(str(asset_dir)) for path in done.stdout.split()[:2]), done.stdout


# --- the member role -----------------------------------------------------------------------


def member_statements() -> list[dict[str, Any]]:
    """The policy file's statements without sts/organizations actions (a member only reads)."""
    expected = []
    for statement in POLICY["Statement"]:
        actions = [a for a in actions_of(statement) if a.split(":")[0] not in ("sts", "organizations")]
        if actions:
            expected.append({**statement, "Action": actions[0] if len(actions) == 1 else actions})
    return expected


def test_the_member_role_template_is_committed_and_has_the_policy_statements() -> None:
    from tablesafe.cdk_aspects.member_role import member_role_template

    committed = json.loads(MEMBER_TEMPLATE.read_text())
    assert committed == member_role_template(), (
        "regenerate: python -m tablesafe.cdk_aspects.member_role > iam/tablesafe-member-role.template.json"
    )
    (role,) = committed["Resources"].values()
    (inline,) = role["Properties"]["Policies"]
    assert inline["PolicyDocument"]["Statement"] == member_statements()
    assert role["Properties"]["RoleName"] == "tablesafe-audit"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    account = {"Ref": "AuditorAccountId"}
    assert trust["Principal"]["AWS"]["Fn::Join"][1][3] == account
    condition = trust["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::Join"][1]
    assert condition[3:] == [account, ":role/tablesafe/*"]
    assert set(committed["Parameters"]) == {"AuditorAccountId"}
    from cfnlint.api import lint_file

    assert [str(match) for match in lint_file(MEMBER_TEMPLATE)] == []


def test_the_member_role_stack_with_a_given_auditor(synth: dict[str, Any]) -> None:
    role = only(synth["Member"], "AWS::IAM::Role")["Properties"]
    assert role["Policies"][0]["PolicyDocument"]["Statement"] == member_statements()
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert ":iam::111111111111:root" in json.dumps(trust["Principal"])
    assert "AuditorAccountId" not in synth["Member"].to_json().get("Parameters", {})


# --- the GitHub Actions example ----------------------------------------------------------


def test_the_github_workflow_example() -> None:
    from tablesafe.cli import build_parser

    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"id-token": "write", "contents": "read", "security-events": "write"}
    (job,) = workflow["jobs"].values()
    steps = job["steps"]

    def step(uses: str) -> dict[str, Any]:
        (found,) = [s for s in steps if s.get("uses", "").startswith(uses + "@")]
        return found

    assert step("aws-actions/configure-aws-credentials")["with"]["role-to-assume"].startswith("arn:aws:iam::")
    assert any(s.get("run", "").strip() == 'pip install "tablesafe[aws]"' for s in steps)
    (audit,) = [s for s in steps if s.get("id") == "audit"]
    (command,) = [
        line.strip() for line in audit["run"].splitlines() if line.strip().startswith("tablesafe audit")
    ]
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.regions, args.format, args.output, args.output_dir) == (
        "all",
        "sarif",
        "tablesafe.sarif",
        "audit",
    )
    assert "3)" in audit["run"] and "set +e" in audit["run"]  # partial is handled, not a crash
    sarif = step("github/codeql-action/upload-sarif")
    assert sarif["with"]["sarif_file"] == "tablesafe.sarif" and sarif["if"].startswith("always()")
    artifact = step("actions/upload-artifact")
    assert artifact["with"]["path"] == "audit/" and artifact["if"].startswith("always()")
    assert steps.index(sarif) > steps.index(audit) and steps.index(artifact) > steps.index(audit)


# --- README ----------------------------------------------------------------------------------


def test_readme_snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's construct snippet runs as it stands, cdk-nag included."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(readme_snippet("scheduled_audit"), "<README snippet>", "exec"), namespace)
    outdir = Path(namespace["app"].outdir)
    templates = [json.loads(p.read_text()) for p in outdir.glob("*.template.json")]
    assert any(
        r["Type"] == "AWS::StepFunctions::StateMachine" for t in templates for r in t["Resources"].values()
    )
