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
from tablesafe.neutralize import shell
from tablesafe.neutralize import text as shown_text
from tablesafe.remediation import RemediationContext, python_string, typescript_string
from tablesafe.rules._remediation import retain_code, retain_steps


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


REFACTOR = (
    "cdk refactor --unstable=refactor --dry-run   # shows how each table is mapped\n"
    "cdk refactor --unstable=refactor             # moves it without a new table (preview)"
)


def _removed(ctx: RemediationContext) -> Remediation:
    stack = shown_text(ctx.stack or "its stack")
    python, typescript = retain_code(
        ctx, f"{ctx.where}:", before=True, then=f"; cdk deploy {stack}, then remove it"
    )
    return Remediation(
        f"Keep {ctx.named} in the stack, or retain it before removing it: deploy "
        "RemovalPolicy.RETAIN first, then remove it (it is orphaned with its data; `cdk import` "
        f"adopts it again, {SAFE_MIGRATION_URL}).",
        python,
        typescript,
        "",
    )


def _moved(ctx: RemediationContext, old: RemediationContext) -> Remediation:
    """A new logical ID or another stack: refactor first; the old ID only within a stack."""
    same_stack = ctx.stack == old.stack
    summary = (
        f"Keep the table of {old.named}: run `cdk refactor --unstable=refactor` (CloudFormation "
        "stack refactoring keeps the table under its new "
        f"{'logical ID' if same_stack else 'stack and logical ID'}; preview)"
    )
    if same_stack and old.logical_id:
        summary += f", or keep the deployed logical ID {old.logical_id} with overrideLogicalId"
    summary += f", or retain, remove and `cdk import` it ({SAFE_MIGRATION_URL})."
    if not (same_stack and old.logical_id):
        in_stack = f"in {shown_text(ctx.stack or 'the new stack')}"
        python, typescript = retain_steps(
            old,
            python_new=f"dynamodb.{ctx.cdk_class}(self, {ctx.py_id}, ...) {in_stack}",
            typescript_new=f"new dynamodb.{ctx.cdk_class}(this, {ctx.ts_id}, {{ ... }}) {in_stack}",
            purpose=f"keep the data while it moves to stack {shown_text(ctx.stack or '(new)')}",
        )
        return Remediation(summary, python, typescript, REFACTOR)
    return Remediation(
        summary,
        f"# {ctx.where}: keep the deployed logical ID, {ctx.python_after()}\n"
        f"{ctx.python_resource()}.override_logical_id({python_string(old.logical_id)})",
        f"// {ctx.where}: keep the deployed logical ID, {ctx.typescript_after()}\n"
        f"{ctx.typescript_resource()}.overrideLogicalId({typescript_string(old.logical_id)});",
        REFACTOR,
    )


def _replaced(ctx: RemediationContext, old: RemediationContext, changed: str) -> Remediation:
    """A create-only property changed: no logical-ID fix helps; undo, or move the data."""
    stack = shown_text(old.stack or "its stack")
    python_retain, typescript_retain = retain_code(old, "1.", before=True, then=f"; then cdk deploy {stack}")
    orphaned = f"cdk deploy {stack} (the table is orphaned, data intact)"
    return Remediation(
        f"Undo the change to {changed} of {ctx.named}, or move the data deliberately: retain the "
        "table, export it to S3, and create the new table from the export with importSource "
        f"(Table only), {S3_IMPORT_URL}.",
        f"# {ctx.where}: undo the change to {changed}, or move the data to a new table:\n"
        f"{python_retain}\n"
        f"# 2. export it (the CLI command), remove {old.py_id} from {stack}; {orphaned}\n"
        f"# 3. dynamodb.Table(self, {ctx.py_id}, ..., import_source=dynamodb.ImportSourceSpecification(\n"
        "#        bucket=export_bucket, key_prefix=export_data_prefix,\n"
        "#        input_format=dynamodb.InputFormat.dynamo_db_json()))  # a new table name",
        f"// {ctx.where}: undo the change to {changed}, or move the data to a new table:\n"
        f"{typescript_retain}\n"
        f"// 2. export it (the CLI command), remove {old.ts_id} from {stack}; {orphaned}\n"
        f"// 3. new dynamodb.Table(this, {ctx.ts_id}, {{ ..., importSource: {{ bucket: exportBucket,\n"
        "//      keyPrefix: exportDataPrefix, inputFormat: dynamodb.InputFormat.dynamoDBJson() } })"
        " // a new table name",
        f"aws dynamodb export-table-to-point-in-time --table-arn {old.sh_arn}{old.sh_region} "
        '--s3-bucket "$EXPORT_BUCKET" --s3-prefix ' + shell(old.construct_id or "export"),
    )


def remediation(ctx: RemediationContext) -> Remediation:
    change = ctx.change
    if change is None:  # the catalogue: the general advice
        return _replaced(ctx, ctx, "the key schema, table name, local indexes or import source")
    old = RemediationContext.of(change.old, replica=False)
    if change.new is None:
        return _removed(old)
    changes = replacing_changes(change.old, change.new)
    if ctx.stack != old.stack or (change.old.logical_id != change.new.logical_id and not changes):
        return _moved(ctx, old)
    return _replaced(ctx, old, ", ".join(dict.fromkeys(c.name for c in changes)) or "the table")


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
    remediate=remediation,
    controls=("none: cdk diff reports replacements but does not gate on them",),
    check=check,
    help_url="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html",
    per_resource=True,
    judges_changes=True,
)
