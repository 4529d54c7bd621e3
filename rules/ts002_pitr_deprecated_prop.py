"""TS002: PITR must be set with the current CDK prop, not the deprecated one.

The deprecated prop synthesizes the same template, so only the construct's analytics
metadata shows it; when that metadata is absent the rule cannot judge and says nothing
(the loader reports once that TS002 could not run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription
from tablesafe.remediation import PYTHON, TYPESCRIPT, RemediationContext
from tablesafe.rules._remediation import props_remediation

DEPRECATED_PROP = "pointInTimeRecovery"
UNNAMED_REGIONS = ("*", "?")
"""A replica region the props do not show: the analytics metadata writes every string as
`*`, lint a value that is not a literal as `?`."""


def _replica_regions_using_prop(props: Mapping[str, Any]) -> list[str]:
    replicas = props.get("replicas")
    if not isinstance(replicas, list):
        return []
    return [
        str(replica.get("region", "?"))
        for replica in replicas
        if isinstance(replica, Mapping) and DEPRECATED_PROP in replica
    ]


def _prop_names(table: TableDescription) -> tuple[str, str]:
    """(deprecated, current) prop names as the app's language spells them; both spellings
    when the language is unknown."""
    language = table.language
    if language == PYTHON:
        return "point_in_time_recovery", "point_in_time_recovery_specification"
    if language == TYPESCRIPT:
        return DEPRECATED_PROP, "pointInTimeRecoverySpecification"
    return (
        "pointInTimeRecovery (Python: point_in_time_recovery)",
        "pointInTimeRecoverySpecification (point_in_time_recovery_specification)",
    )


def check(table: TableDescription, settings: RuleSettings) -> list[str]:
    props = table.cdk_props
    if props is None:
        return []
    deprecated, current = _prop_names(table)
    messages = []
    if DEPRECATED_PROP in props:
        messages.append(
            f"PITR is set with the deprecated {deprecated} prop; it will be removed in "
            f"the next major CDK release. Use {current}."
        )
    replicas = _replica_regions_using_prop(props)
    if replicas:
        named = [region for region in replicas if region not in UNNAMED_REGIONS]
        count = len(replicas)
        which = ", ".join(named) if len(named) == count else f"{count} entr{'y' if count == 1 else 'ies'}"
        messages.append(f"The deprecated {deprecated} prop is set on replicas ({which}). Use {current}.")
    return messages


def _specification(props: Mapping[str, Any]) -> tuple[str, str]:
    """The current prop that does what the deprecated one did, in (Python, TypeScript): PITR
    on, for the table (TS001 asks for no less) and for a replica; but a replica of a table
    that writes a specification gets the table's, whatever its deprecated prop says, so
    there the prop gives way to nothing (the template stays the same)."""
    if props.get("pointInTimeRecoverySpecification") is not None:
        return (
            "point_in_time_recovery_specification=None,  # the table's specification applies",
            "pointInTimeRecoverySpecification: undefined, // the table's specification applies",
        )
    return (
        "point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\n"
        "    point_in_time_recovery_enabled=True),",
        "pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },",
    )


def remediation(ctx: RemediationContext) -> Remediation:
    """The current prop instead of the deprecated one, where the app writes it: the table's
    props, and each replica entry that sets it itself (by region where it is known)."""
    props = ctx.cdk_props or {}
    replicas = _replica_regions_using_prop(props)
    named = [region for region in dict.fromkeys(replicas) if region not in UNNAMED_REGIONS]
    instead = ("point_in_time_recovery", DEPRECATED_PROP)
    python: list[str] = []
    typescript: list[str] = []
    if DEPRECATED_PROP in props or not replicas:
        fix = props_remediation(ctx, "", *_specification({}), "", instead_of=instead)
        python.append(fix.cdk_python)
        typescript.append(fix.cdk_typescript)
    replica_python, replica_typescript = _specification(props)
    for region in named:
        fix = props_remediation(
            replace(ctx, replica_region=region),
            "",
            replica_python,
            replica_typescript,
            "",
            instead_of=instead,
        )
        python.append(fix.cdk_python)
        typescript.append(fix.cdk_typescript)
    if len(named) < len(replicas):  # entries the props do not name: those that write the prop
        python.append(
            f"# {ctx.where}: set in each dynamodb.ReplicaTableProps(..., point_in_time_recovery=...) of "
            f"{ctx.python_call()}, instead of point_in_time_recovery\n{replica_python}"
        )
        typescript.append(
            f"// {ctx.where}: set in each replicas entry {{ ..., pointInTimeRecovery: ... }} of "
            f"{ctx.typescript_call()}, instead of {DEPRECATED_PROP}\n{replica_typescript}"
        )
    return Remediation(
        f"Replace the deprecated prop on {ctx.where} with pointInTimeRecoverySpecification "
        "(`tablesafe lint --fix` does it for literal values); a source change only, the deployed "
        "table is unaffected.",
        "\n".join(python),
        "\n".join(typescript),
        "",
    )


RULE = Rule(
    id="TS002",
    slug="pitr-deprecated-prop",
    title="PITR is enabled with the deprecated pointInTimeRecovery prop",
    rationale=(
        "pointInTimeRecovery is deprecated and will be removed in the next major version of "
        "aws-cdk-lib; code that still uses it stops compiling on upgrade, and the replacement "
        "pointInTimeRecoverySpecification is the only way to set the recovery period."
    ),
    severity=Severity.ERROR,
    remediate=remediation,
    controls=("cdk deprecation aws-cdk-lib.aws_dynamodb.TableOptions#pointInTimeRecovery",),
    check=check,
    help_url="https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_dynamodb.TableProps.html",
    per_resource=True,
)
