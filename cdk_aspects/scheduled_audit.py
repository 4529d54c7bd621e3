"""`ScheduledTableAudit`: `tablesafe audit` as a scheduled job, from one account to an Organization.

    ScheduledTableAudit(stack, "TableAudit", organization=True)

Two shapes, chosen from the amount of work (`fan_out=None`):

- single: one Lambda function (handler `run`) plans, audits every account x region, merges
  and writes the run to S3. Reserved concurrency 1, so two runs never race on "the previous
  run" (the account needs the unreserved concurrency for that, as for any reservation).
- fan-out, for an Organization or more than `FAN_OUT_THRESHOLD` account-regions: a Step
  Functions state machine, `plan` -> Distributed Map over the plan's `$.items` (one
  `audit_item` per account x region) -> `merge`, which rebuilds one run from the parts in S3.

Limits, and how the fan-out stays under them:

- Lambda runs at most 15 minutes. The audit reads DescribeContinuousBackups at ~10 calls/s per
  account and region (its client-side limit, the API's control-plane rate), so one item,
  one account-region, reads roughly 9,000 tables in 15 minutes; a single run holds
  `FAN_OUT_THRESHOLD` account-regions of a few hundred tables each (its reads are spread over
  16 threads).
- Distributed Map: up to 10,000 child executions at once; `MAX_CONCURRENCY` (10) keeps the
  Lambda concurrency and the STS/Organizations calls modest. Items are distinct
  account-regions, so two items never share a DynamoDB rate limit. A throttled invoke is
  retried with backoff; up to `TOLERATED_FAILURE_PERCENTAGE` of the items may fail and the
  run is still merged from the parts that were written.
- Step Functions state payload: 256 KiB. An item writes its records to
  `<prefix><run_id>/parts/` and returns four small fields; the map discards the item results
  (its output is its input) and `merge` receives only `run_id` and reads the parts from S3.
  The plan's item list itself must fit: about 3,000 account-regions (each item is ~80 bytes).
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from tablesafe.scanner.drill_results import DRILLS_PREFIX

from ._audit_policy import policy_statements
from .member_role import AUDITOR_ROLE_PATH, DEFAULT_ROLE_NAME

HANDLER_MODULE = "tablesafe.scanner.lambda_handler"
RUNTIME = lambda_.Runtime.PYTHON_3_12
DEFAULT_PREFIX = "tablesafe-audit/"
FAN_OUT_THRESHOLD = 20
"""Account-regions one Lambda run audits; more (or an Organization) fan out with Step Functions."""
ALL_REGIONS_ESTIMATE = 17
"""`regions=["all"]` counts as the regions an account has enabled by default."""
MAX_CONCURRENCY = 10
TOLERATED_FAILURE_PERCENTAGE = 10
NONCURRENT_VERSION_DAYS = 90
INFREQUENT_ACCESS_AFTER_DAYS = 30

PACKAGE_ROOTS = ("tablesafe", "tablesafe.rules", "tablesafe.scanner", "tablesafe.cdk_aspects")
"""pyproject's package-dir roots: each resolves to its own directory in an editable install."""
DEPENDENCIES = ("pyyaml", "junitparser", "jinja2", "markupsafe", "markdown-it-py", "mdurl")
"""Pure-Python distributions the audit imports (the HTML report and runbook pages need
Jinja2 and markdown-it-py; MarkupSafe falls back to Python without its C speedups); boto3
comes with the Lambda runtime."""
PACKAGE_FILES = ("*.py", "*.json", "*.j2")
"""Modules and package data (the audit policy, the report's templates)."""


def _copy_package(name: str, destination: Path) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed as a package: cannot build the Lambda code")
    source = Path(next(iter(spec.submodule_search_locations)))
    target = destination.joinpath(*name.split("."))
    for pattern in PACKAGE_FILES:
        for path in source.rglob(pattern):
            if "__pycache__" not in path.parts:
                copied = target / path.relative_to(source)
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copied)


def _copy_distribution(name: str, destination: Path) -> None:
    """A dependency's .py files and its METADATA (junitparser reads its own version)."""
    dist = importlib.metadata.distribution(name)
    for file in dist.files or ():
        if file.suffix == ".py" or file.name == "METADATA":
            copied = destination / file
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file.locate(), copied)


@functools.cache
def code_directory() -> Path:
    """The Lambda code, built once per process from the installed packages (CDK stages a
    copy into the cloud assembly, so the temporary directory goes at exit)."""
    directory = Path(tempfile.mkdtemp(prefix="tablesafe-lambda-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for name in PACKAGE_ROOTS:
        _copy_package(name, directory)
    for name in DEPENDENCIES:
        _copy_distribution(name, directory)
    return directory


def should_fan_out(*, organization: bool, accounts: Sequence[str], regions: Sequence[str] | None) -> bool:
    """An Organization (its size is known only at run time) or more account-regions than one
    Lambda run should hold."""
    region_count = ALL_REGIONS_ESTIMATE if regions == ["all"] else len(regions or [None])
    return organization or max(len(accounts), 1) * region_count > FAN_OUT_THRESHOLD


def acknowledge(scope: Construct, reasons: dict[str, str]) -> None:
    """cdk-nag findings that cannot be fixed here, each with its reason: finding id -> reason."""
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=finding, reason=reason) for finding, reason in reasons.items())
    )


def wildcard_resource(scope: Construct, resource: Any) -> str:
    """cdk-nag's finding id for a wildcard resource, `AwsSolutions-IAM5[Resource::...]`: the
    resolved value with Fn::Join flattened, a Ref as <Name>, a GetAtt as <Name.Attribute>."""

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return f"<{value['Ref']}>"
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            return "<{}.{}>".format(*value["Fn::GetAtt"])
        if isinstance(value, dict) and set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(map(text, parts))
        return json.dumps(value, separators=(",", ":"))

    return f"AwsSolutions-IAM5[Resource::{text(cdk.Stack.of(scope).resolve(resource))}]"


def private_bucket(
    scope: Construct, id: str, holds: str, *, lifecycle_rules: list[s3.LifecycleRule], versioned: bool = False
) -> s3.Bucket:
    """A bucket of tablesafe's own: S3-managed encryption, no public access, TLS only, kept
    when the stack is deleted; cdk-nag's access-log finding acknowledged with what it holds."""
    bucket = s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        versioned=versioned,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        lifecycle_rules=lifecycle_rules,
    )
    acknowledge(
        bucket,
        {
            "AwsSolutions-S1": f"The bucket {holds}; object access is recorded by CloudTrail data events "
            "where an account requires it, and an access log bucket would itself be an unlogged bucket."
        },
    )
    return bucket


def function_role(scope: Construct, description: str) -> iam.Role:
    """The role of tablesafe's functions (id Role), under the path the member role trusts."""
    return iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        path=AUDITOR_ROLE_PATH,
        description=description,
    )


def schedule_role(scope: Construct) -> iam.Role:
    """The role EventBridge Scheduler assumes to start the job, for this account only."""
    return iam.Role(
        scope,
        "SchedulerRole",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
        ),
    )


def encrypted_topic(scope: Construct, id: str, display_name: str, key_description: str) -> sns.Topic:
    """An SNS topic encrypted with its own rotated KMS key (id TopicKey), TLS only."""
    key = kms.Key(scope, "TopicKey", enable_key_rotation=True, description=key_description)
    return sns.Topic(scope, id, display_name=display_name, master_key=key, enforce_ssl=True)


def python_function(
    scope: Construct, handler: str, role: iam.IRole, purpose: str, **options: Any
) -> lambda_.Function:
    """A function of the tablesafe code asset (handler: module.function) with its own log group
    kept three months, on RUNTIME and arm64."""
    name = "".join(part.title() for part in handler.rsplit(".", 1)[1].split("_")) + "Function"
    log_group = logs.LogGroup(scope, f"{name}Logs", retention=logs.RetentionDays.THREE_MONTHS)
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        name,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        code=lambda_.Code.from_asset(str(code_directory())),
        handler=handler,
        role=role,
        log_group=log_group,
        description=f"{purpose}: {handler.rsplit('.', 1)[1]}",
        **options,
    )
    acknowledge(
        function,
        {
            "AwsSolutions-L1": f"Pinned to {RUNTIME.name}, the newest Python the package is tested on; "
            "the code is pure Python (boto3 from the runtime), so moving on is a one-line change."
        },
    )
    return function


class ScheduledTableAudit(Construct):
    """The live audit on a schedule: Lambda (or a Step Functions fan-out), an EventBridge
    Scheduler schedule, the report bucket, the summary topic and a read-only role.

    schedule: default daily at 06:00 UTC. regions: region names, or ["all"] (the enabled
    ones); default the stack's region. accounts / organization: the other accounts to
    audit through `role_name` (default "tablesafe-audit", the member role of
    `TableAuditMemberRoleStack`, which trusts this construct's role by its path). The
    summary is published when a run finds errors or a table lost protection.

    A given `report_bucket` encrypted with a KMS key is granted through the key; a given
    `alarm_topic` with a customer-managed key needs `kms:GenerateDataKey`/`kms:Decrypt`
    for `self.role` in its key policy.

    Each run reads the restore-drill results under ``drills/`` of the bucket (what
    ScheduledRestoreDrill writes) and shows each table's last drill; `drill_max_age_days`
    turns on TS008 (recreation-unproven) with that maximum age.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        schedule: scheduler.ScheduleExpression | None = None,
        regions: Sequence[str] | None = None,
        accounts: Sequence[str] | None = None,
        organization: bool = False,
        role_name: str | None = None,
        report_bucket: s3.IBucket | None = None,
        report_prefix: str = DEFAULT_PREFIX,
        alarm_topic: sns.ITopic | None = None,
        fan_out: bool | None = None,
        memory_size: int = 1024,
        drill_max_age_days: int | None = None,
        timeout: cdk.Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        accounts = list(accounts or ())
        if isinstance(regions, str):  # "all" or "us-east-1,eu-west-1", not its characters
            regions = regions.split(",")
        regions = list(regions) if regions is not None else None
        if accounts and organization:
            raise ValueError("ScheduledTableAudit: pass accounts or organization=True, not both")
        if role_name and not (accounts or organization):
            raise ValueError("ScheduledTableAudit: role_name needs accounts or organization=True")
        if not report_prefix.endswith("/"):
            raise ValueError(f"ScheduledTableAudit: report_prefix must end with '/', not {report_prefix!r}")
        if (accounts or organization) and not role_name:
            role_name = DEFAULT_ROLE_NAME
        self.fan_out = (
            should_fan_out(organization=organization, accounts=accounts, regions=regions)
            if fan_out is None
            else fan_out
        )
        self.bucket = report_bucket or self._bucket()
        self.topic = alarm_topic or self._topic()
        self.role = self._role(organization, accounts, role_name, report_prefix)

        environment = {
            "TABLESAFE_REPORT_BUCKET": self.bucket.bucket_name,
            "TABLESAFE_REPORT_PREFIX": report_prefix,
            "TABLESAFE_TOPIC_ARN": self.topic.topic_arn,
        }
        if regions:
            environment["TABLESAFE_REGIONS"] = ",".join(regions)
        if accounts:
            environment["TABLESAFE_ACCOUNTS"] = ",".join(accounts)
        if organization:
            environment["TABLESAFE_ORGANIZATION"] = "true"
        if role_name:
            environment["TABLESAFE_ROLE_NAME"] = role_name
        if drill_max_age_days is not None:
            environment["TABLESAFE_DRILL_MAX_AGE_DAYS"] = str(drill_max_age_days)
        function = functools.partial(
            self._function,
            environment=environment,
            memory_size=memory_size,
            timeout=timeout or cdk.Duration.minutes(15),
        )
        if self.fan_out:
            self.functions = [function(name) for name in ("plan", "audit_item", "merge")]
            self.state_machine: sfn.StateMachine | None = self._state_machine(*self.functions)
        else:
            self.functions = [function("run", reserved_concurrent_executions=1)]
            self.state_machine = None
        scheduler_role = schedule_role(self)
        target: scheduler.IScheduleTarget
        if self.state_machine:
            target = targets.StepFunctionsStartExecution(self.state_machine, role=scheduler_role)
        else:
            target = targets.LambdaInvoke(self.functions[0], role=scheduler_role)
            acknowledge(scheduler_role, self._invoke_reasons(self.functions))
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=schedule or scheduler.ScheduleExpression.cron(minute="0", hour="6"),
            target=target,
            description="tablesafe audit of the deployed DynamoDB tables",
        )

    def _invoke_reasons(self, functions: Sequence[lambda_.Function]) -> dict[str, str]:
        reason = (
            "CDK grants lambda:InvokeFunction on the function and on its versions and aliases (ARN:*); "
            "the principal invokes only the audit's own functions."
        )
        return {wildcard_resource(self, f"{function.function_arn}:*"): reason for function in functions}

    # --- storage and notification ----------------------------------------------------------

    def _bucket(self) -> s3.Bucket:
        return private_bucket(
            self,
            "Reports",
            "holds audit reports written only by the audit role",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="older-runs-to-infrequent-access",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=cdk.Duration.days(INFREQUENT_ACCESS_AFTER_DAYS),
                        )
                    ],
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
        )

    def _topic(self) -> sns.Topic:
        return encrypted_topic(
            self, "Summary", "tablesafe audit", "Encrypts the tablesafe audit summary topic"
        )

    # --- permissions -----------------------------------------------------------------------

    def _role(self, organization: bool, accounts: list[str], role_name: str | None, prefix: str) -> iam.Role:
        role = function_role(self, "tablesafe audit: reads DynamoDB and CloudFormation, writes its reports")
        partition = cdk.Aws.PARTITION
        arns = [f"arn:{partition}:iam::{account}:role/{role_name}" for account in accounts or ["*"]]
        objects = self.bucket.arn_for_objects(f"{prefix}*")
        drill_results = self.bucket.arn_for_objects(f"{DRILLS_PREFIX}*")
        statements = policy_statements(
            without=() if organization else ("organizations",), assume_role_arns=arns if role_name else ()
        )
        statements += [
            # No s3:prefix condition: S3 answers NoSuchKey for a missing object (a run without
            # summary.json) only to a caller allowed ListBucket on the bucket, else AccessDenied.
            iam.PolicyStatement(
                sid="ListReports", actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="ReadAndWriteReports",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[objects],
            ),
            iam.PolicyStatement(sid="ReadDrillResults", actions=["s3:GetObject"], resources=[drill_results]),
            iam.PolicyStatement(
                sid="PublishSummary", actions=["sns:Publish"], resources=[self.topic.topic_arn]
            ),
        ]
        keys = [key for key in (self.bucket.encryption_key, self.topic.master_key) if key is not None]
        if keys:
            statements.append(
                iam.PolicyStatement(
                    sid="UseEncryptionKeys",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn for key in keys],
                )
            )
        for statement in statements:
            role.add_to_principal_policy(statement)
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": "The audit reads every table and owning stack of the account: "
            "DynamoDB ListTables and the Describe calls on any table, CloudFormation DescribeStackResources "
            "and GetTemplate on any stack, EC2 DescribeRegions, STS GetCallerIdentity (and Organizations "
            "ListAccounts for an Organization): the CLI's read-only policy; List calls take no narrower "
            "resource, and the tables and stacks are discovered at run time.",
            wildcard_resource(self, objects): "The audit writes one object per table and run under its "
            "own prefix; the keys are not known before the run.",
            wildcard_resource(self, drill_results): "The audit reads the restore-drill results under "
            "drills/ (ScheduledRestoreDrill writes one per drill); the keys name the tables.",
        }
        if role_name and not accounts:
            reasons[wildcard_resource(self, arns[0])] = (
                "The Organization's accounts are listed at run time; AssumeRole is limited to the one "
                "member role name, which trusts only this account's roles under the tablesafe path."
            )
        acknowledge(role, reasons)
        return role

    # --- compute ---------------------------------------------------------------------------

    def _function(self, handler: str, **options: Any) -> lambda_.Function:
        return python_function(self, f"{HANDLER_MODULE}.{handler}", self.role, "tablesafe audit", **options)

    def _state_machine(
        self, plan: lambda_.Function, audit_item: lambda_.Function, merge: lambda_.Function
    ) -> sfn.StateMachine:
        """plan -> Distributed Map over `$.items` (one audit_item each) -> merge on `run_id`."""
        item = tasks.LambdaInvoke(self, "AuditItem", lambda_function=audit_item, payload_response_only=True)
        item.add_retry(
            errors=["Lambda.TooManyRequestsException"],
            interval=cdk.Duration.seconds(5),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        fan_out = sfn.DistributedMap(
            self,
            "AuditEachAccountRegion",
            items_path="$.items",
            max_concurrency=MAX_CONCURRENCY,
            tolerated_failure_percentage=TOLERATED_FAILURE_PERCENTAGE,
            result_path=sfn.JsonPath.DISCARD,
        )
        fan_out.item_processor(item)
        definition = (
            tasks.LambdaInvoke(self, "Plan", lambda_function=plan, payload_response_only=True)
            .next(fan_out)
            .next(
                tasks.LambdaInvoke(
                    self,
                    "Merge",
                    lambda_function=merge,
                    payload=sfn.TaskInput.from_object({"run_id": sfn.JsonPath.string_at("$.run_id")}),
                    payload_response_only=True,
                )
            )
        )
        log_group = logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.THREE_MONTHS)
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=cdk.Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )
        reasons = self._invoke_reasons([plan, audit_item, merge])
        reasons["AwsSolutions-IAM5[Resource::*]"] = (
            "X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* and the CloudWatch Logs log-delivery "
            "calls that Step Functions logging needs support no resource-level permissions."
        )
        child_executions = machine.node.find_child("DistributedMapPolicy")
        for statement in cdk.Stack.of(self).resolve(child_executions.document.to_json())["Statement"]:
            if ":execution:" in json.dumps(statement["Resource"]):
                reasons[wildcard_resource(self, statement["Resource"])] = (
                    "The Distributed Map describes, stops and redrives its own child executions, whose "
                    "names are generated at run time; the ARN is limited to this state machine."
                )
        acknowledge(machine, reasons)
        return machine
