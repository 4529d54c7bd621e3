"""Real CDK apps for the tests of the validator, the enforcer and the cdk-nag pack
(tests/test_cdk_aspects.py).

Each ``build_*`` function fills an ``App`` and returns what the tests need; ``EXPECTED_*``
say which rule fires on which table (its L2 construct path, or the L1's for an L1).
Importing this module imports aws-cdk-lib: the test module loads it lazily, in its fixture.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from tablesafe.cdk_aspects import TableSafetyChecks, TableSafetyEnforcer, TableSafetyValidator, suppress

METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"
ENV = cdk.Environment(account="111111111111", region="us-east-1")
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
TODAY = dt.date(2026, 6, 1)
"""The validators in these apps judge expiries against this date, so the tests do not age."""
FUTURE = "2027-01-31"
PAST = "2026-01-31"


def pitr(days: int = 35, enabled: bool = True) -> dynamodb.PointInTimeRecoverySpecification:
    return dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=enabled, recovery_period_in_days=days if enabled else None
    )


def safe_table(scope: Construct, construct_id: str, **overrides: Any) -> dynamodb.Table:
    props: dict[str, Any] = {
        "partition_key": KEY,
        "point_in_time_recovery_specification": pitr(),
        "deletion_protection": True,
    }
    props.update(overrides)
    return dynamodb.Table(scope, construct_id, **props)


def l1_key_props() -> dict[str, Any]:
    return {
        "key_schema": [dynamodb.CfnTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        "attribute_definitions": [
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        "billing_mode": "PAY_PER_REQUEST",
    }


def l1_pitr(enabled: Any = True, days: int | None = 35) -> Any:
    return dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
        point_in_time_recovery_enabled=enabled, recovery_period_in_days=days
    )


def global_l1_pitr(enabled: Any = True) -> Any:
    return dynamodb.CfnGlobalTable.PointInTimeRecoverySpecificationProperty(
        point_in_time_recovery_enabled=enabled
    )


def cfn_global_table(scope: Construct, construct_id: str, replicas: list[Any]) -> dynamodb.CfnGlobalTable:
    return dynamodb.CfnGlobalTable(
        scope,
        construct_id,
        key_schema=[dynamodb.CfnGlobalTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        attribute_definitions=[
            dynamodb.CfnGlobalTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        billing_mode="PAY_PER_REQUEST",
        replicas=replicas,
    )


# --- the checks app: one table per rule, each firing only where it should ---------------


def build_checks(app: cdk.App) -> dict[str, Any]:
    """Every kind of table next to each other; EXPECTED_CHECKS says what fires where."""
    stack = cdk.Stack(app, "Checks", env=ENV)
    safe_table(stack, "Safe")
    dynamodb.Table(stack, "Bare", partition_key=KEY)  # TS001, TS003
    safe_table(stack, "Scratch", removal_policy=cdk.RemovalPolicy.DESTROY)  # TS004
    safe_table(stack, "Deprecated", point_in_time_recovery_specification=None, point_in_time_recovery=True)
    safe_table(stack, "Short", point_in_time_recovery_specification=pitr(3))  # TS007 (warning)
    dynamodb.TableV2(
        stack,
        "Global",
        partition_key=KEY,
        point_in_time_recovery_specification=pitr(),
        deletion_protection=True,
        replicas=[
            dynamodb.ReplicaTableProps(region="us-west-2"),
            dynamodb.ReplicaTableProps(
                region="eu-west-1",
                point_in_time_recovery_specification=pitr(enabled=False),
                deletion_protection=False,
            ),
        ],
    )  # TS001 and TS003 for eu-west-1 only
    dynamodb.CfnTable(
        stack,
        "Legacy",
        **l1_key_props(),
        point_in_time_recovery_specification=l1_pitr(),
        deletion_protection_enabled=True,
    )  # an L1 has no DeletionPolicy unless one is set: TS004
    cfn_global_table(
        stack,
        "LegacyGlobal",
        [
            dynamodb.CfnGlobalTable.ReplicaSpecificationProperty(
                region="us-east-1",
                point_in_time_recovery_specification=global_l1_pitr(),
                deletion_protection_enabled=True,
            ),
            dynamodb.CfnGlobalTable.ReplicaSpecificationProperty(
                region="ap-south-1", point_in_time_recovery_specification=global_l1_pitr()
            ),
        ],
    ).apply_removal_policy(cdk.RemovalPolicy.RETAIN)  # TS003 for ap-south-1 only
    # fail-closed: PITR from a parameter, deletion protection from a condition on a parameter
    enable_pitr = cdk.CfnParameter(stack, "EnablePitr", type="String", allowed_values=["true", "false"])
    protect = cdk.CfnParameter(stack, "Protect", type="String", allowed_values=["true", "false"])
    condition = cdk.CfnCondition(
        stack, "ProtectTables", expression=cdk.Fn.condition_equals(protect.value_as_string, "true")
    )
    dynamodb.CfnTable(
        stack,
        "Conditional",
        **l1_key_props(),
        point_in_time_recovery_specification=l1_pitr(enable_pitr, None),
        deletion_protection_enabled=cdk.Fn.condition_if(condition.logical_id, True, False),
    ).apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    # an Aspect makes this subtree DESTROY: the validator judges the result (TS004)
    ephemeral = Construct(stack, "Ephemeral")
    safe_table(ephemeral, "Cache")
    cdk.RemovalPolicies.of(ephemeral).destroy()
    # suppressions: TS003 waived until FUTURE; TS001 waived until PAST (expired, so reported)
    waived = dynamodb.Table(stack, "Waived", partition_key=KEY)
    suppress(waived, "TS003", reason="Scratch data, rebuilt nightly by the loader", expires=FUTURE)
    suppress(waived, "pitr-missing", reason="Waiting for the backup budget approval", expires=PAST)
    return {"stack": stack}


EXPECTED_CHECKS: dict[str, set[tuple[str, str, str | None]]] = {
    # table -> {(severity, rule id, replica region)}; suppressed findings are not reported
    "Checks/Safe": set(),
    "Checks/Bare": {("error", "TS001", None), ("error", "TS003", None)},
    "Checks/Scratch": {("error", "TS004", None)},
    "Checks/Deprecated": {("error", "TS002", None)},
    "Checks/Short": {("warning", "TS007", None)},
    "Checks/Global": {("error", "TS001", "eu-west-1"), ("error", "TS003", "eu-west-1")},
    "Checks/Legacy": {("error", "TS004", None)},
    "Checks/LegacyGlobal": {("error", "TS003", "ap-south-1")},
    "Checks/Conditional": {("error", "TS001", None), ("error", "TS003", None)},
    "Checks/Ephemeral/Cache": {("error", "TS004", None)},
    "Checks/Waived": {("error", "TS001", None)},
}


def add_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(TableSafetyValidator(today=TODAY))


# --- the configuration file ----------------------------------------------------------------

CONFIG = """\
min_recovery_period_days: 14
rules:
  TS003: {severity: warning, reason: an SCP denies DeleteTable in these accounts}
exemptions:
  - construct_path: "Cfg/Legacy*"
    rules: [TS001]
    reason: Legacy table, migrated to TableV2 next quarter
"""
BROKEN_CONFIG = "rules:\n  TS999: {enabled: false}\n"


def build_config(app: cdk.App, config_path: str) -> dict[str, Any]:
    """The `.tablesafe.yaml` applies in the app: severities, minimum period, exemptions."""
    stack = cdk.Stack(app, "Cfg", env=ENV)
    dynamodb.Table(stack, "Bare", partition_key=KEY)
    dynamodb.Table(stack, "Legacy", partition_key=KEY)
    safe_table(stack, "TenDays", point_in_time_recovery_specification=pitr(10))
    cdk.Validations.of(app).add_plugins(TableSafetyValidator(config_path, today=TODAY))
    return {}


EXPECTED_CONFIG: dict[str, set[tuple[str, str, str | None]]] = {
    "Cfg/Bare": {("error", "TS001", None), ("warning", "TS003", None)},
    "Cfg/Legacy": {("warning", "TS003", None)},  # TS001 exempted
    "Cfg/TenDays": {("warning", "TS007", None)},
}


# --- the metadata flag -------------------------------------------------------------------


def build_flag_off(app: cdk.App) -> dict[str, Any]:
    """Two stacks with tables (one with the deprecated prop) in an app without the flag."""
    first = cdk.Stack(app, "First", env=ENV)
    safe_table(first, "Orders", point_in_time_recovery_specification=None, point_in_time_recovery=True)
    safe_table(cdk.Stack(app, "Second", env=ENV), "Orders")
    return {}


# --- the enforcer ------------------------------------------------------------------------


def build_gaps(app: cdk.App) -> dict[str, Any]:
    """Tables that only lack settings (no explicit unsafe choice): the enforcer fixes all."""
    stack = cdk.Stack(app, "Gaps", env=ENV)
    dynamodb.Table(stack, "Bare", partition_key=KEY)
    dynamodb.TableV2(
        stack, "BareGlobal", partition_key=KEY, replicas=[dynamodb.ReplicaTableProps(region="us-west-2")]
    )
    dynamodb.CfnTable(stack, "L1", **l1_key_props())
    cfn_global_table(
        stack,
        "L1Global",
        [
            dynamodb.CfnGlobalTable.ReplicaSpecificationProperty(region="us-east-1"),
            dynamodb.CfnGlobalTable.ReplicaSpecificationProperty(region="eu-west-1"),
        ],
    )
    return {"stack": stack}


def build_explicit(app: cdk.App) -> dict[str, Any]:
    """Explicit unsafe choices: the enforcer leaves every one of them alone."""
    stack = cdk.Stack(app, "Explicit", env=ENV)
    safe_table(stack, "PitrOff", point_in_time_recovery_specification=pitr(enabled=False))
    safe_table(stack, "Short", point_in_time_recovery_specification=pitr(3))
    safe_table(stack, "Destroy", removal_policy=cdk.RemovalPolicy.DESTROY)
    safe_table(stack, "Unprotected", deletion_protection=False)
    dynamodb.TableV2(
        stack,
        "Global",
        partition_key=KEY,
        replicas=[dynamodb.ReplicaTableProps(region="eu-west-1", deletion_protection=False)],
    )  # the table level lacks PITR and protection: filled; eu-west-1 keeps its explicit false
    return {"stack": stack}


EXPECTED_EXPLICIT: dict[str, set[tuple[str, str, str | None]]] = {
    "Explicit/PitrOff": {("error", "TS001", None)},
    "Explicit/Short": {("warning", "TS007", None)},
    "Explicit/Destroy": {("error", "TS004", None)},
    "Explicit/Unprotected": {("error", "TS003", None)},
    "Explicit/Global": {("error", "TS003", "eu-west-1")},
}


def add_enforcer_and_checks(app: cdk.App) -> None:
    """The enforcer's fast way: one call into Python for the whole app."""
    TableSafetyEnforcer().apply(app)
    add_checks(app)


def add_enforcer_aspect_and_checks(app: cdk.App) -> None:
    """The enforcer as an Aspect of the app (visited for every construct, L1s included)."""
    cdk.Aspects.of(app).add(TableSafetyEnforcer(), priority=cdk.AspectPriority.MUTATING)
    add_checks(app)


# --- stages and nested stacks ----------------------------------------------------------


class Inner(cdk.NestedStack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        dynamodb.Table(self, "Orders", partition_key=KEY)


def build_stage(app: cdk.App) -> dict[str, Any]:
    """A stage with a stack and a nested stack, checked by TableSafetyChecks added to the
    stage as an Aspect (it registers itself as the stage's validation plugin)."""
    stage = cdk.Stage(app, "Prod", env=ENV)
    stack = cdk.Stack(stage, "Svc")
    dynamodb.Table(stack, "Bare", partition_key=KEY)
    Inner(stack, "Inner")
    cdk.Aspects.of(stage).add(TableSafetyChecks(today=TODAY))
    return {"stage": stage}


EXPECTED_STAGE: dict[str, set[tuple[str, str, str | None]]] = {
    "Prod/Svc/Bare": {("error", "TS001", None), ("error", "TS003", None)},
    "Prod/Svc/Inner/Orders": {("error", "TS001", None), ("error", "TS003", None)},
}


# --- the cdk-nag pack ----------------------------------------------------------------------


def build_nag(app: cdk.App) -> dict[str, Any]:
    """Unsafe tables with and without acknowledgements, for TableSafetyPack + AwsSolutionsChecks."""
    from cdk_nag import AwsSolutionsChecks

    from tablesafe.cdk_aspects import TableSafetyPack

    stack = cdk.Stack(app, "Nag", env=ENV)
    dynamodb.Table(stack, "Bare", partition_key=KEY)  # TS001, TS003 (+ AwsSolutions-DDB3)
    acked = dynamodb.Table(stack, "Acked", partition_key=KEY)
    # cdk-nag's documented id, and the one CDK's report prints ("Acknowledge with ..."): both work
    for rule_id in ("TableSafety-TS001", "TableSafety::TableSafety-TS003", "AwsSolutions-DDB3"):
        cdk.Validations.of(acked).acknowledge(
            cdk.Acknowledgment(id=rule_id, reason="Test data only, recreated by the fixture loader")
        )
    waived = safe_table(stack, "Waived", deletion_protection=False)
    suppress(waived, "TS003", reason="Protected by an SCP in this account", expires=FUTURE)
    safe_table(stack, "Short", point_in_time_recovery_specification=pitr(3))  # TS007 (warning)
    dynamodb.TableV2(
        stack,
        "Global",
        partition_key=KEY,
        point_in_time_recovery_specification=pitr(),
        deletion_protection=True,
        replicas=[
            dynamodb.ReplicaTableProps(region="eu-west-1", deletion_protection=False),
            dynamodb.ReplicaTableProps(region="ap-south-1", deletion_protection=False),
        ],
    )
    cdk.Validations.of(stack.node.find_child("Global")).acknowledge(
        cdk.Acknowledgment(id="TableSafety-TS003[ap-south-1]", reason="Read replica for reporting only")
    )
    scratch = dynamodb.CfnTable(stack, "Scratch", **l1_key_props())  # an L1: TS001, TS003, TS004
    scratch.add_property_override("DeletionProtectionEnabled", True)  # an override: seen by the pack
    # with the validator too: it leaves the findings to the pack (each is reported once)
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), TableSafetyPack(app, today=TODAY), TableSafetyValidator(today=TODAY)
    )
    return {"stack": stack}


EXPECTED_NAG: dict[str, set[str]] = {
    # rule name in the validation report -> construct paths (one violation per finding)
    "TableSafety-TS001": {"Nag/Bare/Resource", "Nag/Scratch"},
    "TableSafety-TS003": {"Nag/Bare/Resource"},
    "TableSafety-TS004": {"Nag/Scratch"},
    "TableSafety-TS007": {"Nag/Short/Resource"},
    "TableSafety-TS003[eu-west-1]": {"Nag/Global/Resource"},
}
