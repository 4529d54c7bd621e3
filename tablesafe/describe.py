"""One CloudFormation DynamoDB resource -> the table descriptions the rules judge.

Every adapter that holds a resource in CloudFormation shape (template files, the CDK
Aspect after resolving a construct, checkov's parsed template) goes through here, so
what counts as PITR, deletion protection or a removal policy is decided in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tablesafe.model import GLOBAL_TABLE, TableDescription, Unknown
from tablesafe.rules import RULE_IDS
from tablesafe.suppressions import from_metadata
from tablesafe.values import TemplateContext, display, judge_bool, judge_int, judge_mapping, judge_str


def describe_resource(
    resource: Mapping[str, Any], ctx: TemplateContext, identity: TableDescription
) -> tuple[list[TableDescription], list[str]]:
    """Descriptions of one table resource (one per replica of a global table), and the
    problems with its tablesafe Metadata.

    identity carries where the resource is (type, source, stack, logical ID, construct path,
    file, line, CDK props); everything else is read from the resource.
    """
    suppressions, problems = from_metadata(resource.get("Metadata"), RULE_IDS)
    base = replace(
        identity,
        deletion_policy=judge_str(resource.get("DeletionPolicy"), ctx),
        update_replace_policy=judge_str(resource.get("UpdateReplacePolicy"), ctx),
        suppressions=suppressions,
    )
    properties = judge_mapping(resource.get("Properties"), ctx)
    return _table_descriptions(base, properties or {}, ctx), problems


def _pitr(spec: Any, ctx: TemplateContext) -> tuple[Any, Any]:
    """(enabled, recovery period) from a PointInTimeRecoverySpecification value."""
    resolved = judge_mapping(spec, ctx)
    if resolved is None or isinstance(resolved, Unknown):
        return resolved, None
    return (
        judge_bool(resolved.get("PointInTimeRecoveryEnabled"), ctx),
        judge_int(resolved.get("RecoveryPeriodInDays"), ctx),
    )


def _table_descriptions(
    base: TableDescription, properties: Mapping[str, Any] | Unknown, ctx: TemplateContext
) -> list[TableDescription]:
    if isinstance(properties, Unknown):
        return [replace(base, pitr_enabled=properties, deletion_protection=properties)]
    name = properties.get("TableName")
    base = replace(base, table_name=name if isinstance(name, str) else None)
    if base.resource_type != GLOBAL_TABLE:
        enabled, period = _pitr(properties.get("PointInTimeRecoverySpecification"), ctx)
        return [
            replace(
                base,
                pitr_enabled=enabled,
                recovery_period_days=period,
                deletion_protection=judge_bool(properties.get("DeletionProtectionEnabled"), ctx),
            )
        ]
    replicas = properties.get("Replicas")
    if not isinstance(replicas, list) or not replicas:
        unknown = Unknown(f"cannot be read because Replicas is {display(replicas)}, not a list")
        return [replace(base, pitr_enabled=unknown, deletion_protection=unknown)]
    descriptions = []
    for replica in replicas:
        spec = judge_mapping(replica, ctx)
        if spec is None or isinstance(spec, Unknown):
            unknown = spec or Unknown("is an empty replica entry")
            descriptions.append(
                replace(base, replica_region="?", pitr_enabled=unknown, deletion_protection=unknown)
            )
            continue
        enabled, period = _pitr(spec.get("PointInTimeRecoverySpecification"), ctx)
        descriptions.append(
            replace(
                base,
                replica_region=display(spec.get("Region", "?")),
                pitr_enabled=enabled,
                recovery_period_days=period,
                deletion_protection=judge_bool(spec.get("DeletionProtectionEnabled"), ctx),
            )
        )
    return descriptions
