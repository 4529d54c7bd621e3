"""TS006: a change must not replace (or delete) a table that already holds data.

CloudFormation replaces a table when a create-only property changes (the list comes from
the registry schemas, see tablesafe/replacement_data.py) and creates a new one when the
logical ID changes; either way the stack ends up with an empty table.
"""

from __future__ import annotations

from tablesafe.changes import (
    RETAINING_DELETION_POLICIES,
    S3_IMPORT_URL,
    SAFE_MIGRATION_URL,
    describe_where,
    move_outcome,
    removal_outcome,
    replacement_outcome,
    replacing_changes,
)
from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableChange


def check(change: TableChange, settings: RuleSettings) -> list[str]:
    old, new = change.old, change.new
    where = describe_where(change)
    if new is None:
        if old.deletion_policy in RETAINING_DELETION_POLICIES:
            return []  # orphaned, data intact: pair_tables tells the reader in a notice
        return [f"{where} is no longer in the stack: CloudFormation {removal_outcome(old)}."]
    if old.stack != new.stack:
        return [f"{where} moves from stack {old.stack} to stack {new.stack}: {move_outcome(old, new)}."]
    if old.resource_type != new.resource_type:
        return []  # TS005 explains a type change
    if old.logical_id != new.logical_id:
        if new.table_name and new.table_name == old.table_name:
            creates = (
                f"CloudFormation tries to create a second table named {new.table_name} and the "
                "update fails; a new name instead would create a new, empty table and then it"
            )
        else:
            creates = "CloudFormation creates a new, empty table and"
        return [
            f"{where}: the logical ID changes from {old.logical_id} to {new.logical_id}, so "
            f"{creates} {removal_outcome(old)}."
        ]
    changes = replacing_changes(old, new)
    if not changes:
        return []
    return [f"{where}: {'; '.join(map(str, changes))}. {replacement_outcome(old, new)}."]


RULE = Rule(
    id="TS006",
    slug="table-replacement",
    title="A change replaces or deletes a DynamoDB table that holds data",
    rationale=(
        "Renaming or moving a construct changes its logical ID, and changing TableName, the key "
        "schema, the local secondary indexes or the import source forces a replacement: "
        "CloudFormation then builds a new, empty table and deletes or orphans the old one. "
        "cdk diff shows this as one line among many and never fails on it."
    ),
    severity=Severity.ERROR,
    remediation=Remediation(
        summary=(
            "Undo the change, or move the data deliberately: keep the old logical ID (override it "
            "with overrideLogicalId after a refactor), or retain the table, remove it from the stack "
            f"and `cdk import` it under the new construct ({SAFE_MIGRATION_URL}); for a new key "
            f"schema, export to S3 and create the new table with importSource ({S3_IMPORT_URL})."
        ),
        cdk_python=(
            "# keep the deployed logical ID after moving or renaming the construct:\n"
            "table.node.default_child.override_logical_id('OrdersA9B65338')"
        ),
        cdk_typescript=(
            "// keep the deployed logical ID after moving or renaming the construct:\n"
            "(table.node.defaultChild as dynamodb.CfnTable).overrideLogicalId('OrdersA9B65338');"
        ),
        cli=(
            "aws dynamodb export-table-to-point-in-time --table-arn ARN --s3-bucket BUCKET "
            "--s3-prefix PREFIX   # then a new table with importSource"
        ),
    ),
    controls=("none: cdk diff reports replacements but does not gate on them",),
    check=check,
    help_url="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html",
    per_resource=True,
    judges_changes=True,
)
