"""`ScheduledRestoreDrill`: `tablesafe drill` on a schedule, for every table tagged for it.

    audit = ScheduledTableAudit(stack, "Audit")
    ScheduledRestoreDrill(stack, "Drills", report_bucket=audit.bucket, alarm_topic=audit.topic)

A construct of its own rather than an option of ScheduledTableAudit: a drill spends money
and writes (a scratch table, an export), where the audit only reads, so it gets its own role
(the drill policy, scanner/drill-policy.json, not the read-only audit policy), its own
schedule (monthly rather than daily) and its own bucket for the exports. It writes its
results under ``drills/`` of the audit's bucket, where the scheduled audit reads them.

On Step Functions, because exports and imports take minutes to hours: a Lambda step lists
the tables tagged ``tablesafe:drill=<tag_value>``, then a Distributed Map drills them,
``max_concurrency`` at a time, each in a child execution of its own (its own event history):
start the export, Wait/poll until done, start the import (or restore), Wait/poll, compare,
finish. Every step is one short Lambda invocation (scanner/drill_handler.py); the waits are
Wait states whose length doubles from 30 seconds to 10 minutes. Every step has a Catch that
runs ``finish``, which always deletes the scratch table and the export objects, writes the
result and publishes to the topic unless the table was proven; if ``finish`` itself fails,
the topic gets the table and the scratch table's name to delete by hand.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from tablesafe.rules.ts008_recreation_unproven import DRILL_TAG
from tablesafe.scanner.drill_results import DRILLS_PREFIX
from tablesafe.scanner.drill_settings import DEFAULT_MAX_COST, DEFAULT_PREFIX, DEFAULT_SAMPLE

from ._audit_policy import as_list, package_policy
from .scheduled_audit import (
    acknowledge,
    encrypted_topic,
    function_role,
    private_bucket,
    python_function,
    schedule_role,
    wildcard_resource,
)

HANDLER = "tablesafe.scanner.drill_handler.step"
DEFAULT_MAX_CONCURRENCY = 2
DEFAULT_TIMEOUT = cdk.Duration.hours(6)
EXPORT_EXPIRY_DAYS = 7
"""Export objects a drill could not delete expire after this: copies of table data must not linger."""
MARGIN = cdk.Duration.hours(2)
"""The state machine's time beyond the drills' own: the waits' granularity, compare and finish."""
STEPS_WITH_CATCH = ("start", "poll_export", "start_rebuild", "poll_rebuild", "compare")


class ScheduledRestoreDrill(Construct):
    """Restore drills on a schedule (default: the 1st of every month, 03:00 UTC) of every table
    of this account and region tagged ``tablesafe:drill=<tag_value>`` (default ``monthly``).

    report_bucket: where results go (``drills/``): the ScheduledTableAudit's bucket, so that the
    audit shows each table's last drill and TS008 judges it. export_bucket: where the exports go
    (default: a new bucket, unversioned, objects expiring after a week). alarm_topic: told of
    every drill that did not prove its table (default: a new encrypted topic). max_cost_usd,
    sample, timeout: as `tablesafe drill --max-cost/--sample/--timeout`. keep_exports: keep the
    export objects (default: deleted).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        report_bucket: s3.IBucket,
        export_bucket: s3.IBucket | None = None,
        export_prefix: str = DEFAULT_PREFIX,
        alarm_topic: sns.ITopic | None = None,
        schedule: scheduler.ScheduleExpression | None = None,
        tag_value: str = "monthly",
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_cost_usd: float = DEFAULT_MAX_COST,
        sample: int = DEFAULT_SAMPLE,
        timeout: cdk.Duration = DEFAULT_TIMEOUT,
        keep_exports: bool = False,
    ) -> None:
        super().__init__(scope, id)
        export_prefix = export_prefix.strip("/")
        if not export_prefix:
            raise ValueError("ScheduledRestoreDrill: export_prefix must name a folder, e.g. tablesafe-drills")
        if max_concurrency < 1:
            raise ValueError(
                f"ScheduledRestoreDrill: max_concurrency must be at least 1, not {max_concurrency}"
            )
        self.report_bucket = report_bucket
        self.export_bucket = export_bucket or self._export_bucket(export_prefix)
        self.topic = alarm_topic or encrypted_topic(
            self, "Alarms", "tablesafe drill", "Encrypts the tablesafe drill alarm topic"
        )
        self.role = self._role(export_prefix)
        self.function = python_function(
            self,
            HANDLER,
            self.role,
            "tablesafe drill",
            memory_size=1024,
            timeout=cdk.Duration.minutes(15),
            environment={
                "TABLESAFE_DRILL_BUCKET": self.export_bucket.bucket_name,
                "TABLESAFE_DRILL_PREFIX": export_prefix,
                "TABLESAFE_REPORT_BUCKET": self.report_bucket.bucket_name,
                "TABLESAFE_DRILL_TAG_VALUE": tag_value,
                "TABLESAFE_TOPIC_ARN": self.topic.topic_arn,
                "TABLESAFE_MAX_COST": str(max_cost_usd),
                "TABLESAFE_SAMPLE": str(sample),
                "TABLESAFE_DRILL_TIMEOUT": str(timeout.to_seconds()),
                "TABLESAFE_KEEP_EXPORTS": "true" if keep_exports else "false",
            },
        )
        self.state_machine = self._state_machine(max_concurrency, timeout)
        scheduler_role = schedule_role(self)
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=schedule or scheduler.ScheduleExpression.cron(minute="0", hour="3", day="1"),
            target=targets.StepFunctionsStartExecution(self.state_machine, role=scheduler_role),
            description=f"tablesafe restore drills of the tables tagged {DRILL_TAG}={tag_value}",
        )

    # --- storage and permissions -------------------------------------------------------------

    def _export_bucket(self, prefix: str) -> s3.Bucket:
        return private_bucket(
            self,
            "Exports",
            "holds drill exports for hours, written by DynamoDB for the drill role and deleted by it",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="drill-exports-expire",
                    prefix=f"{prefix}/",
                    expiration=cdk.Duration.days(EXPORT_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )

    def _role(self, prefix: str) -> iam.Role:
        """The drill policy (scanner/drill-policy.json), its S3 statements on the export bucket,
        plus what the schedule needs: finding tagged tables, writing results, the topic."""
        role = function_role(
            self, "tablesafe drill: exports tables, builds and deletes tablesafe-drill-* tables"
        )
        exports = self.export_bucket.arn_for_objects(f"{prefix}/*")
        results = self.report_bucket.arn_for_objects(f"{DRILLS_PREFIX}*")
        special = {
            "TheExportBucket": [self.export_bucket.bucket_arn],
            "ExportObjectsUnderTheDrillPrefix": [exports],
        }
        statements = [
            iam.PolicyStatement(
                sid=statement["Sid"],
                actions=as_list(statement["Action"]),
                resources=special.get(statement["Sid"])
                or [
                    r.replace("arn:aws:", f"arn:{cdk.Aws.PARTITION}:", 1)
                    for r in as_list(statement["Resource"])
                ],
            )
            for statement in package_policy("drill-policy.json")["Statement"]
        ]
        statements += [
            iam.PolicyStatement(sid="FindTaggedTables", actions=["tag:GetResources"], resources=["*"]),
            iam.PolicyStatement(sid="WriteResults", actions=["s3:PutObject"], resources=[results]),
            iam.PolicyStatement(
                sid="PublishAlarms", actions=["sns:Publish"], resources=[self.topic.topic_arn]
            ),
        ]
        keys = [self.export_bucket.encryption_key, self.report_bucket.encryption_key, self.topic.master_key]
        if any(keys):
            statements.append(
                iam.PolicyStatement(
                    sid="UseEncryptionKeys",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn for key in keys if key],
                )
            )
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": "ListTables, GetCallerIdentity and the Resource Groups Tagging "
            "API's GetResources take no narrower resource; the tables to drill are found by tag at run time.",
            wildcard_resource(self, exports): "DynamoDB writes each export under the drill's own prefix, and "
            "the drill deletes it; the keys are chosen at run time.",
            wildcard_resource(self, results): "One result per drill under drills/; the keys name the tables.",
        }
        for statement in statements:
            role.add_to_principal_policy(statement)
            for resource in statement.resources:
                if "*" in resource and resource not in ("*", exports, results):
                    reasons[wildcard_resource(self, resource)] = (
                        "Tables are drilled by tag, found at run time: source tables are only described, "
                        "exported and restored from; every import, write and delete is limited to the "
                        "drill's own tablesafe-drill-* scratch tables, and the import's logs to DynamoDB's "
                        "/aws-dynamodb/ log groups."
                    )
        acknowledge(role, reasons)
        return role

    # --- the state machine ---------------------------------------------------------------------

    def _invoke(self, id: str, step: str, **options: Any) -> tasks.LambdaInvoke:
        return tasks.LambdaInvoke(
            self,
            id,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object({"step": step, "state": sfn.JsonPath.entire_payload}),
            payload_response_only=True,
            retry_on_service_exceptions=True,
            **options,
        )

    def _polled(
        self, start: sfn.TaskStateBase, wait: str, poll: sfn.TaskStateBase, done: str, then: sfn.IChainable
    ) -> sfn.Chain:
        """start, then Wait ($.wait seconds) and poll until the poll says $.done, then `then`."""
        waiting = sfn.Wait(self, wait, time=sfn.WaitTime.seconds_path("$.wait"))
        finished = sfn.Condition.boolean_equals("$.done", True)
        return (
            start.next(waiting)
            .next(poll)
            .next(sfn.Choice(self, done).when(finished, then).otherwise(waiting))
        )

    def _state_machine(self, max_concurrency: int, timeout: cdk.Duration) -> sfn.StateMachine:
        """select -> Distributed Map over $.tables: start -> (wait, poll_export)* ->
        start_rebuild -> (wait, poll_rebuild)* -> compare -> finish, every step caught into finish."""
        finish = self._invoke("Finish", "finish")
        cleanup_failed = tasks.SnsPublish(
            self,
            "CleanupFailed",
            topic=self.topic,
            subject="tablesafe drill: the cleanup failed",
            message=sfn.TaskInput.from_object(
                {
                    "message": "The drill's cleanup failed: delete its scratch table (tablesafe-drill-<id>) "
                    "and export objects by hand, or run tablesafe drill --cleanup after a day.",
                    "table": sfn.JsonPath.string_at("$.table"),
                    "error": sfn.JsonPath.string_at("$.cleanup_error.Cause"),
                }
            ),
        )
        finish.add_catch(
            cleanup_failed.next(sfn.Fail(self, "DrillNotCleanedUp")),
            errors=["States.ALL"],
            result_path="$.cleanup_error",
        )
        steps = {step: self._invoke(step.title().replace("_", ""), step) for step in STEPS_WITH_CATCH}
        for task in steps.values():
            task.add_catch(finish, errors=["States.ALL"], result_path="$.error")
        rebuild = self._polled(
            steps["start_rebuild"],
            "WaitForRebuild",
            steps["poll_rebuild"],
            "Rebuilt",
            steps["compare"].next(finish),
        )
        drill = self._polled(steps["start"], "WaitForExport", steps["poll_export"], "Exported", rebuild)
        each_table = sfn.DistributedMap(
            self,
            "DrillEachTable",
            items_path="$.tables",
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=100,
            result_path=sfn.JsonPath.DISCARD,
        )
        each_table.item_processor(drill)
        log_group = logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.THREE_MONTHS)
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(
                self._invoke("Select", "select").next(each_table)
            ),
            timeout=timeout.plus(MARGIN),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )
        reasons = {
            wildcard_resource(self, f"{self.function.function_arn}:*"): "Step Functions invokes the drill "
            "function and its versions (ARN:*); only this function.",
            "AwsSolutions-IAM5[Resource::*]": "X-Ray and the CloudWatch Logs log-delivery calls that Step "
            "Functions logging needs support no resource-level permissions.",
        }
        policy = machine.node.find_child("DistributedMapPolicy")
        for statement in cdk.Stack.of(self).resolve(policy.document.to_json())["Statement"]:
            if ":execution:" in str(statement["Resource"]):
                reasons[wildcard_resource(self, statement["Resource"])] = (
                    "The Distributed Map describes, stops and redrives its own child executions, whose names "
                    "are generated at run time; the ARN is limited to this state machine."
                )
        acknowledge(machine, reasons)
        return machine
