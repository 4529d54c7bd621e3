"""Small, real CDK apps whose synthesized cloud assemblies the CLI tests check.

Each ``build_*`` function adds its stacks to an ``App``; ``APPS`` maps an app name to its
builder and the app context it needs. The session fixture in ``conftest.py`` synthesizes
every app once, in one process (loading aws-cdk-lib through jsii is slow), into its own
``cdk.out`` directory.

Importing this module imports aws-cdk-lib: only the fixture does it, lazily.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"
ENV = cdk.Environment(account="111111111111", region="us-east-1")
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
SAFE_PITR = dynamodb.PointInTimeRecoverySpecification(
    point_in_time_recovery_enabled=True, recovery_period_in_days=35
)

SAMPLE_APP_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "sample-app"


# --- table helpers -------------------------------------------------------------------


def safe_table(scope: Construct, construct_id: str) -> dynamodb.Table:
    """PITR (35 days) and deletion protection on; the default RETAIN removal policy."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=KEY,
        point_in_time_recovery_specification=SAFE_PITR,
        deletion_protection=True,
    )


def bare_table(scope: Construct, construct_id: str) -> dynamodb.Table:
    """Nothing set: no PITR, no deletion protection, default RETAIN (TS001, TS003)."""
    return dynamodb.Table(scope, construct_id, partition_key=KEY)


def destroy_table(scope: Construct, construct_id: str) -> dynamodb.Table:
    """Safe except for RemovalPolicy.DESTROY (TS004 only)."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=KEY,
        point_in_time_recovery_specification=SAFE_PITR,
        deletion_protection=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


# --- apps ----------------------------------------------------------------------------


def build_safe(app: cdk.App) -> None:
    """(a) One fully safe table. Expected: no findings, exit 0."""
    stack = cdk.Stack(app, "Safe", env=ENV)
    safe_table(stack, "Orders")


def build_unsafe(app: cdk.App) -> None:
    """(b) a bare table and (c) a DESTROY table, next to a safe one."""
    stack = cdk.Stack(app, "Unsafe", env=ENV)
    safe_table(stack, "Fine")
    bare_table(stack, "Bare")
    destroy_table(stack, "Scratch")


def build_global(app: cdk.App) -> None:
    """(d) A TableV2 in us-east-1 with two extra replicas.

    The table level is safe except for a 3-day PITR window (TS007 below the default
    minimum of 7). us-west-2 inherits everything; eu-west-1 turns PITR and deletion
    protection off for itself only (TS001 and TS003 for that replica only).
    """
    stack = cdk.Stack(app, "Global", env=ENV)
    dynamodb.TableV2(
        stack,
        "Orders",
        partition_key=KEY,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True, recovery_period_in_days=3
        ),
        deletion_protection=True,
        replicas=[
            dynamodb.ReplicaTableProps(region="us-west-2"),
            dynamodb.ReplicaTableProps(
                region="eu-west-1",
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=False
                ),
                deletion_protection=False,
            ),
        ],
    )


class InnerStack(cdk.NestedStack):
    """A nested stack holding one unsafe table."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        bare_table(self, "Orders")


def build_nested(app: cdk.App) -> None:
    """(e) A safe table in the parent stack and a bare table in the nested stack."""
    stack = cdk.Stack(app, "WithNested", env=ENV)
    safe_table(stack, "Audit")
    InnerStack(stack, "Inner")


class ServiceStack(cdk.Stack):
    """The stack that the ``Prod`` stage deploys: the same kinds of tables as above."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        safe_table(self, "Fine")
        bare_table(self, "Bare")
        destroy_table(self, "Scratch")
        InnerStack(self, "Inner")


def build_stage(app: cdk.App) -> None:
    """(f) A stage ``Prod`` (written to ``assembly-Prod/``) with stack ``Svc``.

    The stage's stack is named ``Prod-Svc`` in its manifest; its nested stack template
    lives in ``assembly-Prod/`` too.
    """
    stage = cdk.Stage(app, "Prod", env=ENV)
    ServiceStack(stage, "Svc")


def build_deprecated(app: cdk.App) -> None:
    """(g) The deprecated ``point_in_time_recovery=True`` prop, otherwise safe.

    Synthesized twice: with the metadata flag on (TS002 visible) and off (not visible).
    A second stack with a safe table makes sure that the "flag is off" notice is given
    once per run, not once per stack.
    """
    stack = cdk.Stack(app, "Deprecated", env=ENV)
    dynamodb.Table(
        stack,
        "Orders",
        partition_key=KEY,
        point_in_time_recovery=True,
        deletion_protection=True,
    )
    safe_table(cdk.Stack(app, "Current", env=ENV), "Orders")


def build_conditional(app: cdk.App) -> None:
    """(h) An L1 CfnTable whose safety depends on parameters (fail-closed).

    ``DeletionProtectionEnabled`` is ``Fn::If [ProtectTables, true, false]`` where the
    condition tests the parameter ``EnableDeletionProtection`` (TS003 naming the
    condition); ``PointInTimeRecoveryEnabled`` is a ``Ref`` to the parameter
    ``EnablePitr`` (TS001 naming the parameter). The removal policy is RETAIN.
    """
    stack = cdk.Stack(app, "Conditional", env=ENV)
    protect = cdk.CfnParameter(
        stack,
        "EnableDeletionProtection",
        type="String",
        allowed_values=["true", "false"],
        default="true",
    )
    pitr = cdk.CfnParameter(
        stack, "EnablePitr", type="String", allowed_values=["true", "false"], default="true"
    )
    condition = cdk.CfnCondition(
        stack,
        "ProtectTables",
        expression=cdk.Fn.condition_equals(protect.value_as_string, "true"),
    )
    table = dynamodb.CfnTable(
        stack,
        "Legacy",
        key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        attribute_definitions=[
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        billing_mode="PAY_PER_REQUEST",
        deletion_protection_enabled=cdk.Fn.condition_if(condition.logical_id, True, False),
        point_in_time_recovery_specification=dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
            point_in_time_recovery_enabled=pitr  # a CfnParameter resolves to {"Ref": ...}
        ),
    )
    table.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


@functools.cache
def load_sample_app() -> ModuleType:
    """The README sample, fixtures/sample-app/app.py, imported from its file."""
    spec = importlib.util.spec_from_file_location("tablesafe_sample_app", SAMPLE_APP_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_sample(app: cdk.App) -> None:
    """The README sample app (its own ``build``; synthesized with its own CONTEXT)."""
    load_sample_app().build(app)


def build_replacement(app: cdk.App, *, after: bool) -> None:
    """(j) One construct per replacement cause and per safe change, before and after.

    After the change: Swap is a TableV2 (TS005); Keys, Lsi, Named and Import change a
    replacement-forcing property, Moved changes its construct path, Dropped (DESTROY) is
    removed (TS006); Retired (RETAIN) is removed and only orphaned; Billing, Gsi, Pitr,
    Tagged and Stream change safely. The stage and the nested stack each change a key.
    """
    stack = cdk.Stack(app, "Repl", env=ENV)
    other_key = dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
    if after:
        dynamodb.TableV2(stack, "Swap", partition_key=KEY)
    else:
        dynamodb.Table(stack, "Swap", partition_key=KEY)
    dynamodb.Table(stack, "Keys", partition_key=other_key if after else KEY)
    lsi_table = dynamodb.Table(stack, "Lsi", partition_key=KEY, sort_key=other_key)
    if after:
        lsi_table.add_local_secondary_index(
            index_name="byDate", sort_key=dynamodb.Attribute(name="date", type=dynamodb.AttributeType.STRING)
        )
    dynamodb.Table(stack, "Named", partition_key=KEY, table_name="orders-v2" if after else "orders")
    bucket = cdk.aws_s3.Bucket(stack, "Exports")
    import_source = dynamodb.ImportSourceSpecification(
        bucket=bucket, input_format=dynamodb.InputFormat.dynamo_db_json(), key_prefix="orders/"
    )
    dynamodb.Table(stack, "Import", partition_key=KEY, import_source=import_source if after else None)
    moved_key = dynamodb.Attribute(name="movedKey", type=dynamodb.AttributeType.STRING)
    dynamodb.Table(Construct(stack, "Group") if after else stack, "Moved", partition_key=moved_key)
    if not after:
        destroy_table(stack, "Dropped")
        dynamodb.Table(
            stack, "Retired", partition_key=dynamodb.Attribute(name="r", type=dynamodb.AttributeType.STRING)
        )
    dynamodb.Table(
        stack,
        "Billing",
        partition_key=KEY,
        billing_mode=dynamodb.BillingMode.PROVISIONED if after else dynamodb.BillingMode.PAY_PER_REQUEST,
    )
    gsi_table = dynamodb.Table(stack, "Gsi", partition_key=KEY)
    if after:
        gsi_table.add_global_secondary_index(index_name="byOther", partition_key=other_key)
    dynamodb.Table(
        stack, "Pitr", partition_key=KEY, point_in_time_recovery_specification=SAFE_PITR if after else None
    )
    tagged = dynamodb.Table(stack, "Tagged", partition_key=KEY)
    if after:
        cdk.Tags.of(tagged).add("team", "orders")
    dynamodb.Table(
        stack, "Stream", partition_key=KEY, stream=dynamodb.StreamViewType.NEW_IMAGE if after else None
    )
    stage = cdk.Stage(app, "Prod", env=ENV)
    dynamodb.Table(cdk.Stack(stage, "Svc"), "Keys", partition_key=other_key if after else KEY)
    nested = cdk.NestedStack(cdk.Stack(app, "WithNested", env=ENV), "Inner")
    dynamodb.Table(nested, "Orders", partition_key=other_key if after else KEY)


def build_move(app: cdk.App, *, after: bool) -> None:
    """(k) Tables moving between the stacks of one app, before and after.

    Products (RETAIN) keeps its construct id and moves from Catalog to Orders; Carts
    (DESTROY) moves to Orders as ShoppingCarts with the same keys (TS006 for both: Orders
    creates new, empty tables); Reviews is a genuinely new table in Orders, with its own id
    and keys (silent); Ledger and Categories stay where they are.
    """
    catalog, orders = cdk.Stack(app, "Catalog", env=ENV), cdk.Stack(app, "Orders", env=ENV)

    def key(name: str) -> dynamodb.Attribute:
        return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)

    dynamodb.Table(orders, "Ledger", partition_key=key("entry"))
    dynamodb.Table(catalog, "Categories", partition_key=key("category"))
    dynamodb.Table(orders if after else catalog, "Products", partition_key=key("sku"))
    carts = dynamodb.Table(
        orders if after else catalog, "ShoppingCarts" if after else "Carts", partition_key=key("cartId")
    )
    carts.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
    if after:
        dynamodb.Table(orders, "Reviews", partition_key=key("reviewId"))


@dataclass(frozen=True)
class AppSpec:
    build: Callable[[cdk.App], None]
    context: dict[str, Any] = field(default_factory=lambda: {METADATA_FLAG: True})


APPS: dict[str, AppSpec] = {
    "safe": AppSpec(build_safe),
    "unsafe": AppSpec(build_unsafe),
    "global": AppSpec(build_global),
    "nested": AppSpec(build_nested),
    "stage": AppSpec(build_stage),
    "deprecated_flag_on": AppSpec(build_deprecated, {METADATA_FLAG: True}),
    "deprecated_flag_off": AppSpec(build_deprecated, {METADATA_FLAG: False}),
    "conditional": AppSpec(build_conditional),
    "sample": AppSpec(build_sample, dict(load_sample_app().CONTEXT)),
    "replacement_before": AppSpec(functools.partial(build_replacement, after=False)),
    "replacement_after": AppSpec(functools.partial(build_replacement, after=True)),
    "move_before": AppSpec(functools.partial(build_move, after=False)),
    "move_after": AppSpec(functools.partial(build_move, after=True)),
}


def synth_all(root: Path) -> dict[str, Path]:
    """Synthesize every app into ``root/<name>/cdk.out``; return name -> that directory."""
    out: dict[str, Path] = {}
    for name, spec in APPS.items():
        outdir = root / name / "cdk.out"
        app = cdk.App(outdir=str(outdir), context=dict(spec.context))
        spec.build(app)
        app.synth()
        out[name] = outdir
    return out
