"""TS005: a Table must not turn into a TableV2 (GlobalTable) in place.

Table and TableV2 both name their L1 "Resource", so the swap keeps the logical ID and
changes only the resource type, which CloudFormation refuses; the tempting way around
that error (a new construct id) creates a new, empty table.
"""

from __future__ import annotations

from tablesafe.changes import SAFE_MIGRATION_URL, describe_where, removal_outcome
from tablesafe.model import GLOBAL_TABLE, Remediation, Rule, RuleSettings, Severity, TableChange
from tablesafe.remediation import RemediationContext
from tablesafe.rules._remediation import retain_steps

_KIND = {GLOBAL_TABLE: "a TableV2 (AWS::DynamoDB::GlobalTable)"}
_TABLE_KIND = "a Table (AWS::DynamoDB::Table)"


def check(change: TableChange, settings: RuleSettings) -> list[str]:
    old, new = change.old, change.new
    if new is None or old.resource_type == new.resource_type or old.stack != new.stack:
        return []  # a move to another stack is TS006's, whatever the type
    if old.logical_id == new.logical_id:
        outcome = (
            'CloudFormation rejects the update ("Update of resource type is not permitted"); '
            "giving the construct a new id to get past that creates a new, empty table and "
            f"{removal_outcome(old)}"
        )
    else:
        outcome = (
            f"the logical ID changes from {old.logical_id} to {new.logical_id}, so CloudFormation "
            f"creates a new, empty table and {removal_outcome(old)}"
        )
    return [
        f"{describe_where(change)} was {_KIND.get(old.resource_type, _TABLE_KIND)} and is now "
        f"{_KIND.get(new.resource_type, _TABLE_KIND)}: {outcome}."
    ]


def remediation(ctx: RemediationContext) -> Remediation:
    # step 1 is pasted where the Table is still written: reach it as that version does
    old = RemediationContext.of(ctx.change.old, replica=False) if ctx.change else ctx
    python, typescript = retain_steps(
        old,
        python_new=f"dynamodb.TableV2(self, {ctx.py_id}, partition_key=..., ...)",
        typescript_new=f"new dynamodb.TableV2(this, {ctx.ts_id}, {{ partitionKey: ..., ... }})",
        purpose="keep the data while it becomes a TableV2 (the documented migration)",
    )
    return Remediation(
        f"Keep {ctx.named} a Table, or migrate without replacement: retain it and deploy, remove it "
        "from the stack and deploy (it is orphaned, data intact), re-create it as a TableV2 with the "
        f"same construct id and keys, then `cdk import` it ({SAFE_MIGRATION_URL}).",
        python,
        typescript,
        f"cdk deploy {ctx.sh_stack}   # after steps 1 and 2, each\n"
        f"cdk import {ctx.sh_stack}   # after step 3 (newer CLIs: cdk orphan, then cdk import)",
    )


RULE = Rule(
    id="TS005",
    slug="table-v2-swap",
    title="A dynamodb.Table was swapped for a dynamodb.TableV2 in place",
    rationale=(
        "Migrating from Table to TableV2 changes the CloudFormation resource type. "
        "CloudFormation cannot change a resource's type, and every workaround that changes the "
        "logical ID replaces the table with an empty one. The documented migration keeps the "
        "data: retain the table, remove it from the stack, switch to TableV2, and import it."
    ),
    severity=Severity.ERROR,
    remediate=remediation,
    controls=("none: no other tool gates on a Table to TableV2 swap (cdk diff shows it, never fails on it)",),
    check=check,
    help_url="https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.aws_dynamodb/README.html#migrating-from-table-to-tablev2",
    per_resource=True,
    judges_changes=True,
)
