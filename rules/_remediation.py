"""Remediation snippets that several rules share, rendered for one table (tablesafe.remediation)."""

from __future__ import annotations

from tablesafe.model import Remediation
from tablesafe.neutralize import text as shown_text
from tablesafe.remediation import RemediationContext

FULL_PERIOD = 35


def props_remediation(
    ctx: RemediationContext, summary: str, python: str, typescript: str, cli: str
) -> Remediation:
    """A fix that adds props to the table's construct call (or its replica entry), with a
    comment naming that call; no CDK code for a live table that no stack manages."""
    if not ctx.in_code:
        return Remediation(summary, "", "", cli)
    return Remediation(
        summary,
        f"# {ctx.where}: in {ctx.python_call()}\n{python}",
        f"// {ctx.where}: in {ctx.typescript_call()}\n{typescript}",
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


def retain_steps(ctx: RemediationContext, *, python_new: str, typescript_new: str) -> tuple[str, str]:
    """The documented migration that keeps the data: retain, remove, re-create the construct
    as python_new / typescript_new, `cdk import` (newer CLIs: `cdk orphan`, then import)."""
    stack = shown_text(ctx.stack or "its stack")
    python = (
        f"# 1. {ctx.py_var}.apply_removal_policy(RemovalPolicy.RETAIN); cdk deploy {stack}\n"
        f"# 2. remove {ctx.py_id} from {stack}; cdk deploy {stack} (the table is orphaned, data intact)\n"
        f"# 3. {python_new}  # same table name and keys\n"
        f"# 4. cdk import {stack}"
    )
    typescript = (
        f"// 1. {ctx.ts_var}.applyRemovalPolicy(RemovalPolicy.RETAIN); cdk deploy {stack}\n"
        f"// 2. remove {ctx.ts_id} from {stack}; cdk deploy {stack} (the table is orphaned, data intact)\n"
        f"// 3. {typescript_new} // same table name and keys\n"
        f"// 4. cdk import {stack}"
    )
    return python, typescript
