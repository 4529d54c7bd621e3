"""TS003: deletion protection must be provably on for every table and replica."""

from __future__ import annotations

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription
from tablesafe.remediation import RemediationContext
from tablesafe.rules._remediation import props_remediation
from tablesafe.rules._switch import switch_messages


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    return switch_messages(
        table.deletion_protection,
        "Deletion protection",
        "DeletionProtectionEnabled",
        "DeletionProtectionEnabled is not set",
    )


def remediation(ctx: RemediationContext) -> Remediation:
    python, typescript = (
        ("deletion_protection_enabled=True,", "deletionProtectionEnabled: true,")
        if ctx.l1
        else ("deletion_protection=True,", "deletionProtection: true,")
    )
    return props_remediation(
        ctx,
        f"Enable deletion protection on {ctx.where}.",
        python,
        typescript,
        f"aws dynamodb update-table --table-name {ctx.sh_table}{ctx.sh_region} --deletion-protection-enabled",
    )


RULE = Rule(
    id="TS003",
    slug="deletion-protection-missing",
    title="DynamoDB deletion protection is not enabled",
    rationale=(
        "Deletion protection makes DynamoDB refuse DeleteTable from any caller: the console, "
        "a script, or CloudFormation deleting the stack or replacing the table. The removal "
        "policy only covers CloudFormation; deletion protection covers everyone."
    ),
    severity=Severity.ERROR,
    remediate=remediation,
    controls=(
        "AWS Security Hub DynamoDB.6",
        "AWS Config dynamodb-table-deletion-protection-enabled",
        "checkov CKV_AWS_165 (global tables, first replica only)",
    ),
    check=check,
    help_url="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection",
)
