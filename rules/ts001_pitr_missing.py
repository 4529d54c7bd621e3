"""TS001: point-in-time recovery must be provably enabled on every table and replica."""

from __future__ import annotations

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription
from tablesafe.remediation import RemediationContext
from tablesafe.rules._remediation import pitr_remediation
from tablesafe.rules._switch import switch_messages


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    return switch_messages(
        table.pitr_enabled,
        "Point-in-time recovery",
        "PointInTimeRecoveryEnabled",
        "PointInTimeRecoverySpecification has no PointInTimeRecoveryEnabled, which means disabled"
        if table.pitr_specified
        else "no PointInTimeRecoverySpecification",
    )


def remediation(ctx: RemediationContext) -> Remediation:
    how = "with pointInTimeRecoverySpecification" if ctx.in_code else "with the command below"
    return pitr_remediation(ctx, f"Enable point-in-time recovery on {ctx.where} {how}.")


RULE = Rule(
    id="TS001",
    slug="pitr-missing",
    title="DynamoDB point-in-time recovery is not enabled",
    rationale=(
        "Without point-in-time recovery a bad write, a buggy migration or a deleted table "
        "cannot be rolled back: on-demand backups only restore to the moment they were "
        "taken. PITR keeps continuous backups for up to 35 days and is the prerequisite "
        "for exporting the table to S3."
    ),
    severity=Severity.ERROR,
    remediate=remediation,
    controls=(
        "AWS Security Hub DynamoDB.2",
        "AWS Config dynamodb-pitr-enabled",
        "checkov CKV_AWS_28",
        "checkov CKV_AWS_165",
        "cdk-nag AwsSolutions-DDB3",
        "cfn-lint I3011",
    ),
    check=check,
    help_url="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Point-in-time-recovery.html",
)
