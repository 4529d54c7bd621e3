"""TS003: deletion protection must be provably on for every table and replica."""

from __future__ import annotations

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription
from tablesafe.rules._switch import switch_messages


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    return switch_messages(
        table.deletion_protection,
        "Deletion protection",
        "DeletionProtectionEnabled",
        "DeletionProtectionEnabled is not set",
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
    remediation=Remediation(
        summary="Enable deletion protection on the table (and on every replica).",
        cdk_python="deletion_protection=True",
        cdk_typescript="deletionProtection: true",
        cli="aws dynamodb update-table --table-name TABLE --deletion-protection-enabled",
    ),
    controls=(
        "AWS Security Hub DynamoDB.6",
        "AWS Config dynamodb-table-deletion-protection-enabled",
        "checkov CKV_AWS_165 (global tables, first replica only)",
    ),
    check=check,
    help_url="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection",
)
