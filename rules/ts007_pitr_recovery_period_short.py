"""TS007: the PITR recovery window must reach the configured minimum (default 7 days)."""

from __future__ import annotations

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription, Unknown
from tablesafe.remediation import RemediationContext
from tablesafe.rules._remediation import pitr_remediation


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    if table.pitr_enabled is not True:
        return []  # TS001 reports the missing PITR; a window of nothing says nothing more
    days = table.recovery_period_days
    minimum = settings.min_recovery_period_days
    if isinstance(days, Unknown):
        return [f"The PITR recovery period cannot be proven: RecoveryPeriodInDays {days.reason}."]
    if days is not None and days < minimum:
        return [
            f"The PITR recovery period is {days} day{'s' if days != 1 else ''}, below the "
            f"minimum of {minimum}: a problem noticed later than that cannot be rolled back."
        ]
    return []


def remediation(ctx: RemediationContext) -> Remediation:
    return pitr_remediation(
        ctx, f"Raise the PITR recovery period of {ctx.where} to 35 days (the maximum and the default)."
    )


RULE = Rule(
    id="TS007",
    slug="pitr-recovery-period-short",
    title="The PITR recovery period is shorter than the minimum",
    rationale=(
        "Data corruption is often noticed days after it happened. A short recovery period "
        "(RecoveryPeriodInDays, 1 to 35, default 35) limits how far back the table can be "
        "restored."
    ),
    severity=Severity.WARNING,
    remediate=remediation,
    controls=("AWS Security Hub DynamoDB.2 (recovery period)",),
    check=check,
    help_url="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery_Howitworks.html",
)
