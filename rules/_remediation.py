"""Remediation snippets that several rules share, rendered for one table (tablesafe.remediation).

Each CDK snippet starts with a comment that says where its code is pasted: `set in <call>`
for props (replacing a prop of the same name), or `<where to put it>` for a statement on
the construct (reached through its variable, or a find_child chain when tablesafe cannot
know one). tests/test_pasted_remediation.py pastes every snippet as printed, following
that comment, into real apps.
"""

from __future__ import annotations

from tablesafe.model import Remediation
from tablesafe.neutralize import text as shown_text
from tablesafe.remediation import RemediationContext

FULL_PERIOD = 35


def props_remediation(
    ctx: RemediationContext,
    summary: str,
    python: str,
    typescript: str,
    cli: str,
    *,
    instead_of: tuple[str, str] | None = None,
) -> Remediation:
    """A fix that sets props in the table's construct call (or its replica entry), after a
    comment naming that call (and the (Python, TypeScript) prop it replaces, instead_of);
    no CDK code for a live table that no stack manages."""
    if not ctx.in_code:
        return Remediation(summary, "", "", cli)
    python_instead, typescript_instead = ("", "")
    if instead_of:
        python_instead, typescript_instead = (f", instead of {name}" for name in instead_of)
    return Remediation(
        summary,
        f"# {ctx.where}: set in {ctx.python_call()}{python_instead}\n{python}",
        f"// {ctx.where}: set in {ctx.typescript_call()}{typescript_instead}\n{typescript}",
        cli,
    )


def pitr_remediation(ctx: RemediationContext, summary: str) -> Remediation:
    """PITR on, with the full recovery period (TS001, TS007)."""
    spec = "dynamodb.PointInTimeRecoverySpecification"
    if ctx.l1:
        spec = f"dynamodb.{ctx.cdk_class}.PointInTimeRecoverySpecificationProperty"
    return props_remediation(
        ctx,
        summary,
        f"point_in_time_recovery_specification={spec}(\n"
        f"    point_in_time_recovery_enabled=True, recovery_period_in_days={FULL_PERIOD}),",
        "pointInTimeRecoverySpecification: {\n"
        f"  pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: {FULL_PERIOD} }},",
        f"aws dynamodb update-continuous-backups --table-name {ctx.sh_table}{ctx.sh_region} "
        "--point-in-time-recovery-specification "
        f"PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays={FULL_PERIOD}",
    )


def retain_code(ctx: RemediationContext, lead: str, *, before: str = "", then: str = "") -> tuple[str, str]:
    """The statement that sets both removal policies of the table to Retain, after a comment
    that says where it goes: lead, then `where <call> is still written` when before (the
    version as deployed, a migration's first step), then the place after the table, then."""
    python_where, typescript_where = ctx.python_after(), ctx.typescript_after()
    if before:
        python_where = f"where {ctx.python_call()} is still written, {python_where}"
        typescript_where = f"where {ctx.typescript_call()} is still written, {typescript_where}"
    return (
        f"# {lead} {python_where}{then}\n{ctx.python_table()}.apply_removal_policy(RemovalPolicy.RETAIN)",
        f"// {lead} {typescript_where}{then}\n"
        f"{ctx.typescript_table()}.applyRemovalPolicy(RemovalPolicy.RETAIN);",
    )


def retain_steps(
    ctx: RemediationContext, *, python_new: str, typescript_new: str, purpose: str
) -> tuple[str, str]:
    """The documented migration that keeps the data, for purpose (a comment's text): retain
    (the code, pasted where the table is still written as deployed), remove, re-create the
    construct as python_new / typescript_new, `cdk import` (newer CLIs: `cdk orphan`, then
    import)."""
    stack = shown_text(ctx.stack or "its stack")
    python_retain, typescript_retain = retain_code(ctx, "1.", before=True, then=f"; then cdk deploy {stack}")
    orphaned = f"cdk deploy {stack} (the table is orphaned, data intact)"
    python = (
        f"# {ctx.where}: {purpose}\n{python_retain}\n"
        f"# 2. remove {ctx.py_id} from {stack}; {orphaned}\n"
        f"# 3. {python_new}  # same table name and keys\n"
        f"# 4. cdk import {stack}"
    )
    typescript = (
        f"// {ctx.where}: {purpose}\n{typescript_retain}\n"
        f"// 2. remove {ctx.ts_id} from {stack}; {orphaned}\n"
        f"// 3. {typescript_new} // same table name and keys\n"
        f"// 4. cdk import {stack}"
    )
    return python, typescript
