"""One CloudFormation DynamoDB resource -> the table descriptions the rules judge.

Every adapter that holds a resource in CloudFormation shape (template files, the CDK
Aspect after resolving a construct, checkov's parsed template) goes through here, so
what counts as PITR, deletion protection or a removal policy is decided in one place.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from tablesafe.model import GLOBAL_TABLE, TableDescription, Unknown
from tablesafe.replacement_data import REPLACING_PROPERTIES
from tablesafe.rules import RULE_IDS
from tablesafe.suppressions import from_metadata
from tablesafe.values import TemplateContext, display, judge_bool, judge_int, judge_mapping, judge_str

_IDENTITY_FIELDS = (
    "resource_type",
    "source",
    "stack",
    "logical_id",
    "construct_path",
    "file",
    "line",
    "table_name",
    "table_arn",
    "cdk_props",
    "language",
)
_identity_of = operator.attrgetter(*_IDENTITY_FIELDS)


def describe_resource(
    resource: Mapping[str, Any], ctx: TemplateContext, identity: TableDescription, identity_only: bool = False
) -> tuple[list[TableDescription], list[str]]:
    """Descriptions of one table resource (one per replica of a global table), and the
    problems with its tablesafe Metadata.

    identity carries where the resource is (type, source, stack, logical ID, construct path,
    file, line, CDK props); everything else is read from the resource. identity_only (a
    baseline) skips the protection settings: one description, for TS005/TS006 to compare.
    """
    fields = dict(zip(_IDENTITY_FIELDS, _identity_of(identity), strict=True))
    return describe_fields(resource, ctx, fields, identity_only)


def describe_fields(
    resource: Mapping[str, Any], ctx: TemplateContext, identity: dict[str, Any], identity_only: bool = False
) -> tuple[list[TableDescription], list[str]]:
    """describe_resource with the identity as TableDescription fields (resource_type at
    least), so the template loader builds one TableDescription per table, not two: this
    runs for every table of every run."""
    common = dict(identity)
    suppressions, problems = from_metadata(resource.get("Metadata"), RULE_IDS)
    common["deletion_policy"] = judge_str(resource.get("DeletionPolicy"), ctx)
    common["update_replace_policy"] = judge_str(resource.get("UpdateReplacePolicy"), ctx)
    common["suppressions"] = suppressions
    properties = judge_mapping(resource.get("Properties"), ctx) or {}
    if isinstance(properties, dict):
        if isinstance(properties.get("TableName"), str):
            common["table_name"] = properties["TableName"]
        common["replacing_props"] = replacing_props(identity["resource_type"], properties)
    if identity_only:
        return [TableDescription(**common)], problems
    described = [
        TableDescription(**common, **settings)
        for settings in _protection_settings(identity["resource_type"], properties, ctx)
    ]
    return described, problems


def replacing_props(resource_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties whose change replaces the table, as written (intrinsics included, so
    an unchanged expression compares equal), plus the attribute types the keys use."""
    names = (*REPLACING_PROPERTIES.get(resource_type, ()), "AttributeDefinitions")
    return {name: properties[name] for name in names if name in properties}


def _pitr(spec: Any, ctx: TemplateContext) -> dict[str, Any]:
    """PITR fields from a PointInTimeRecoverySpecification value."""
    resolved = judge_mapping(spec, ctx)
    if isinstance(resolved, Unknown):  # the specification itself, not the flag inside it
        return {
            "pitr_enabled": Unknown(f"cannot be read: PointInTimeRecoverySpecification {resolved.reason}")
        }
    if resolved is None:
        return {"pitr_enabled": None}
    return {
        "pitr_enabled": judge_bool(resolved.get("PointInTimeRecoveryEnabled"), ctx),
        "pitr_specified": True,
        "recovery_period_days": judge_int(resolved.get("RecoveryPeriodInDays"), ctx),
    }


def _unknown_settings(reason: Unknown, **extra: Any) -> dict[str, Any]:
    return {"pitr_enabled": reason, "deletion_protection": reason, **extra}


def _protection_settings(
    resource_type: str, properties: Mapping[str, Any] | Unknown, ctx: TemplateContext
) -> list[dict[str, Any]]:
    """PITR and deletion protection of the table, or of each replica of a global table."""
    if isinstance(properties, Unknown):
        return [_unknown_settings(properties)]
    if resource_type != GLOBAL_TABLE:
        return [
            {
                **_pitr(properties.get("PointInTimeRecoverySpecification"), ctx),
                "deletion_protection": judge_bool(properties.get("DeletionProtectionEnabled"), ctx),
            }
        ]
    replicas = properties.get("Replicas")
    if not isinstance(replicas, list) or not replicas:
        return [
            _unknown_settings(Unknown(f"cannot be read because Replicas is {display(replicas)}, not a list"))
        ]
    settings = []
    for replica in replicas:
        spec = judge_mapping(replica, ctx)
        if spec is None or isinstance(spec, Unknown):
            settings.append(
                _unknown_settings(spec or Unknown("is an empty replica entry"), replica_region="?")
            )
            continue
        settings.append(
            {
                **_pitr(spec.get("PointInTimeRecoverySpecification"), ctx),
                "deletion_protection": judge_bool(spec.get("DeletionProtectionEnabled"), ctx),
                "replica_region": display(spec.get("Region", "?")),
            }
        )
    return settings
