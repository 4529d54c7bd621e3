"""TS004: CloudFormation must retain the table when it is deleted or replaced.

CDK's default for Table and TableV2 is RETAIN, so a failure here usually means
RemovalPolicy.DESTROY, RemovalPolicies.of(scope) or a raw template without policies.
"""

from __future__ import annotations

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription, Unknown
from tablesafe.neutralize import text as shown_text
from tablesafe.remediation import RemediationContext
from tablesafe.rules._remediation import props_remediation, retain_code

SAFE_DELETION_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})
SAFE_UPDATE_REPLACE_POLICIES = frozenset({"Retain"})


def _problem(attribute: str, value: str | Unknown | None, safe: frozenset[str]) -> str | None:
    if isinstance(value, Unknown):
        return f"{attribute} {value.reason}"
    if value is None:
        return f"{attribute} is not set, which CloudFormation treats as Delete"
    if value not in safe:
        return f"{attribute} is {value}"
    return None


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    problems = [
        problem
        for problem in (
            _problem("DeletionPolicy", table.deletion_policy, SAFE_DELETION_POLICIES),
            _problem("UpdateReplacePolicy", table.update_replace_policy, SAFE_UPDATE_REPLACE_POLICIES),
        )
        if problem
    ]
    if not problems:
        return []
    return [
        "CloudFormation would delete the table and its data when the stack is deleted or "
        f"the table replaced: {'; '.join(problems)}."
    ]


def remediation(ctx: RemediationContext) -> Remediation:
    summary = (
        f"Retain {ctx.where}: RemovalPolicy.RETAIN (the CDK default) sets DeletionPolicy and "
        "UpdateReplacePolicy to Retain."
    )
    if ctx.live and ctx.stack:  # a deployed stack may not come from CDK: say where the template has it
        summary += (
            f" In the template of stack {shown_text(ctx.stack)}, set both on resource "
            f"{shown_text(ctx.logical_id or ctx.named)} and update the stack (no CLI command changes them)."
        )
    if not ctx.in_code:
        return Remediation(summary, "", "", "")
    if ctx.l1:  # an L1 has no removal_policy prop: the method sets both attributes
        python, typescript = retain_code(ctx, f"{ctx.where}:")
        return Remediation(summary, python, typescript, "")
    return props_remediation(
        ctx, summary, "removal_policy=RemovalPolicy.RETAIN,", "removalPolicy: RemovalPolicy.RETAIN,", ""
    )


RULE = Rule(
    id="TS004",
    slug="removal-policy-not-retain",
    title="The table's removal policy is not Retain",
    rationale=(
        "With DeletionPolicy or UpdateReplacePolicy Delete, deleting the stack, removing the "
        "construct or a change that forces replacement deletes the table and all its items. "
        "Retain leaves the table in the account, from where it can be imported again."
    ),
    severity=Severity.ERROR,
    remediate=remediation,
    controls=("cfn-lint I3011",),
    check=check,
    help_url="https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html",
    per_resource=True,
)
