"""TS002: PITR must be set with the current CDK prop, not the deprecated one.

The deprecated prop synthesizes the same template, so only the construct's analytics
metadata shows it; when that metadata is absent the rule cannot judge and says nothing
(the loader reports once that TS002 could not run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tablesafe.model import Remediation, Rule, RuleSettings, Severity, TableDescription
from tablesafe.remediation import PYTHON, TYPESCRIPT, RemediationContext
from tablesafe.rules._remediation import props_remediation

DEPRECATED_PROP = "pointInTimeRecovery"


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
        messages.append(
            f"The deprecated {deprecated} prop is set on replicas ({', '.join(replicas)}). Use {current}."
        )
    return messages


def remediation(ctx: RemediationContext) -> Remediation:
    return props_remediation(
        ctx,
        f"Replace the deprecated prop on {ctx.where} with pointInTimeRecoverySpecification "
        "(`tablesafe lint --fix` does it for literal values).",
        "# point_in_time_recovery=True  ->\n"
        "point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\n"
        "    point_in_time_recovery_enabled=True),",
        "// pointInTimeRecovery: true  ->\n"
        "pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },",
        "# a source change only: the deployed table is unaffected",
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
