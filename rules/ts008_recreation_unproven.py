"""TS008 (opt-in): a deployed table's recreation must have been proven by a recent restore drill."""

from __future__ import annotations

import datetime as dt

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, Source, TableDescription, Unknown
from tablesafe.remediation import RemediationContext

DRILL_TAG = "tablesafe:drill"
"""The tag ScheduledRestoreDrill selects tables by (value: the schedule's name, e.g. monthly)."""


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    if table.source is not Source.LIVE:
        return []  # a drill proves a deployed table; a template or a source file has none yet
    proven = table.last_proven
    if isinstance(proven, Unknown):
        return [f"Its recreation cannot be proven: {proven.reason}."]
    if proven is None:
        return [
            "No restore drill has proven that this table can be recreated: its runbook has never "
            "been run (tablesafe drill)."
        ]
    age = ((settings.today or dt.date.today()) - proven).days
    if age > settings.drill_max_age_days:
        return [
            f"The last successful restore drill was on {proven.isoformat()}, {age} days ago: older "
            f"than drill.max_age_days ({settings.drill_max_age_days})."
        ]
    return []


def remediation(ctx: RemediationContext) -> Remediation:
    summary = (
        f"Run a restore drill of {ctx.where} (tablesafe drill), or have ScheduledRestoreDrill run it "
        f"every month: tag the table {DRILL_TAG}=monthly."
    )
    cli = f"tablesafe drill {ctx.sh_table}{ctx.sh_region} --bucket REPLACE-WITH-DRILL-BUCKET"
    if not ctx.in_code:
        return Remediation(summary, "", "", cli)
    comment = f"{ctx.where}: drilled every month by ScheduledRestoreDrill"
    return Remediation(
        summary,
        f'# {comment}, {ctx.python_after()}\ncdk.Tags.of({ctx.python_table()}).add("{DRILL_TAG}", "monthly")',
        f"// {comment}, {ctx.typescript_after()}\n"
        f'Tags.of({ctx.typescript_table()}).add("{DRILL_TAG}", "monthly");',
        cli,
    )


RULE = Rule(
    id="TS008",
    slug="recreation-unproven",
    title="No recent restore drill proves the table can be recreated",
    rationale=(
        "A recreation runbook that has never been run is a hope, not a recovery plan: the import "
        "may reject the export, the blueprint may miss an index, the counts may differ, and nobody "
        "knows how long recreation takes. A restore drill (tablesafe drill) runs the runbook's "
        "route into a scratch table and compares the data. Opt-in, deployed tables only."
    ),
    severity=Severity.WARNING,
    remediate=remediation,
    controls=("AWS Backup restore testing (restores a recovery point; compares no data)",),
    check=check,
    help_url="https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html",
    per_resource=True,
    default_enabled=False,
)
