"""`TableSafetyEnforcer`: an opt-in Aspect that fills in the safe settings a table lacks.

It only fills gaps, so it never weakens a choice someone made: a setting that is absent
gets the safe value; an explicit `false`, an explicit shorter recovery period, an explicit
`RemovalPolicy.DESTROY` or a value that depends on a parameter or condition stays as it is
(and `TableSafetyValidator` still reports it). What it changed is recorded in the construct
metadata under `tablesafe:enforced` (in the cloud assembly's `<stack>.metadata.json`).

A `CfnTable` is changed through its typed properties. The replicas of a `CfnGlobalTable`
(and so of a `TableV2`, whose L1 renders them lazily) are wrapped in a token that fills
the gaps of each replica when the template is resolved, so replicas stay lazy and the
checks, which resolve the same token, see the result.

Every jsii call is a round trip to Node.js, so `enforcer.apply(scope)` is the fast way to
add it: instead of an Aspect of the whole scope, which CDK calls for every construct, a
one-construct Aspect beside it is visited once and lists each stack's constructs in one
call (`find_all`); a table then costs one call (its `cfnProperties`), and each stack one
`resolve` for its tokens. The CloudFormation options (the removal policies) are read only in a
stack that holds an L1 used directly: the `Table` and `TableV2` L2s always set them.
`cdk.Aspects.of(scope).add(enforcer)` still works, at the per-construct cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct, IConstruct

from ._resource import TABLE_L1, TABLE_L2, owner_of, read_settings, ref

ENFORCED_METADATA = "tablesafe:enforced"
_PITR = "pointInTimeRecoverySpecification"
_PITR_ENABLED = "pointInTimeRecoveryEnabled"
_PERIOD = "recoveryPeriodInDays"
_PROTECTION = "deletionProtectionEnabled"
_READ = frozenset({_PITR, _PROTECTION, "replicas"})
"""The L1 properties the enforcer fills (a global table's settings are in its replicas)."""


def _is_plain(value: Any) -> bool:
    """A literal mapping, not an intrinsic that only the deploy can decide."""
    return isinstance(value, Mapping) and not any(
        k == "Ref" or k == "Condition" or str(k).startswith("Fn::") for k in value
    )


def _missing_pitr(settings: Mapping[str, Any]) -> bool:
    spec = settings.get(_PITR)
    return spec is None or (_is_plain(spec) and spec.get(_PITR_ENABLED) is None)


def _filled_replica(replica: Any, days: int) -> tuple[Any, list[str]]:
    """A resolved camelCase replica with its gaps filled, and what was filled."""
    if not _is_plain(replica):
        return replica, []
    filled = dict(replica)
    changes: list[str] = []
    region = replica.get("region", "?")
    if _missing_pitr(replica):
        spec = dict(replica.get(_PITR) or {})
        spec[_PITR_ENABLED] = True
        spec.setdefault(_PERIOD, days)
        filled[_PITR] = spec
        changes.append(f"Replicas[{region}].PointInTimeRecoverySpecification: enabled, {spec[_PERIOD]} days")
    if replica.get(_PROTECTION) is None:
        filled[_PROTECTION] = True
        changes.append(f"Replicas[{region}].DeletionProtectionEnabled: true")
    return filled, changes


@jsii.implements(cdk.IResolvable)
class _FilledReplicas:
    """The original replicas (a list or a lazy token), with each replica's gaps filled."""

    def __init__(self, original: Any, days: int) -> None:
        self._original = original
        self._days = days

    @property
    def creation_stack(self) -> list[str]:
        return []

    def resolve(self, context: cdk.IResolveContext) -> Any:
        replicas = context.resolve(self._original)
        if not isinstance(replicas, list):
            return replicas
        return [_filled_replica(replica, self._days)[0] for replica in replicas]

    def to_string(self) -> str:
        return "tablesafe.FilledReplicas"


@jsii.implements(cdk.IAspect)
class TableSafetyEnforcer:
    """Sets PITR (with `recovery_period_days`), deletion protection (per replica for global
    tables) and Retain (DeletionPolicy and UpdateReplacePolicy) where a table lacks them.

    `apply(scope)` is the fast way; added as an Aspect of a scope instead, give it
    `priority=cdk.AspectPriority.MUTATING` so that read-only Aspects run after it.
    """

    def __init__(self, recovery_period_days: int = 35) -> None:
        if isinstance(recovery_period_days, bool) or not 1 <= recovery_period_days <= 35:
            raise ValueError(f"recovery_period_days must be from 1 to 35, not {recovery_period_days!r}")
        self.recovery_period_days = recovery_period_days

    def apply(self, scope: Construct) -> None:
        """Fill the tables of scope (those of its Stage: CDK synthesizes a nested Stage before
        its parent's Aspects run, so apply it to each Stage) when CDK invokes the Aspects, at
        MUTATING priority, with one call into Python for the whole scope."""
        trigger = Construct(scope, "TableSafetyEnforcer")
        cdk.Aspects.of(trigger).add(_EnforceOnce(self, scope), priority=cdk.AspectPriority.MUTATING)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TABLE_L1):
            self._fill(cdk.Stack.of(node), [node], with_options=True)

    def _fill(self, stack: cdk.Stack, cfns: list[Any], *, with_options: bool) -> None:
        """Fill the gaps of these tables of one stack; with_options: read the removal
        policies too (an L2's L1 always has them)."""
        for cfn, read in zip(cfns, read_settings(stack, cfns, _READ, with_options=with_options), strict=True):
            if isinstance(read, Exception):
                continue  # nothing can be proven missing; the validator reports the table
            props, options = read
            if isinstance(cfn, dynamodb.CfnGlobalTable):
                changes = self._fill_global_table(cfn, props)
            else:
                changes = self._fill_table(cfn, props)
            changes.extend(self._fill_policies(cfn, options) if with_options else [])
            if changes:
                (owner_of(cfn) or cfn).node.add_metadata(ENFORCED_METADATA, changes)

    def _fill_table(self, cfn: dynamodb.CfnTable, props: Mapping[str, Any]) -> list[str]:
        changes = []
        spec = props.get(_PITR)
        period = spec.get(_PERIOD) if isinstance(spec, Mapping) else None
        if period is None:
            period = self.recovery_period_days
        elif not isinstance(period, int):  # a token: keep the original value, not its rendering
            period = getattr(cfn.point_in_time_recovery_specification, "recovery_period_in_days", None)
        if _missing_pitr(props) and period is not None:
            cfn.point_in_time_recovery_specification = (
                dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                    point_in_time_recovery_enabled=True, recovery_period_in_days=period
                )
            )
            days = period if isinstance(period, int) else "its own"
            changes.append(f"PointInTimeRecoverySpecification: enabled, {days} days")
        if props.get(_PROTECTION) is None:
            cfn.deletion_protection_enabled = True
            changes.append("DeletionProtectionEnabled: true")
        return changes

    def _fill_global_table(self, cfn: dynamodb.CfnGlobalTable, props: Mapping[str, Any]) -> list[str]:
        replicas = props.get("replicas")
        if not isinstance(replicas, list):
            return []  # an intrinsic or nothing: not provably missing anything
        changes = [c for replica in replicas for c in _filled_replica(replica, self.recovery_period_days)[1]]
        if changes:
            cfn.replicas = _FilledReplicas(cfn.replicas, self.recovery_period_days)
        return changes

    @staticmethod
    def _fill_policies(cfn: Any, options: Mapping[str, Any]) -> list[str]:
        changes = []
        if options.get("deletionPolicy") is None:
            cfn.cfn_options.deletion_policy = cdk.CfnDeletionPolicy.RETAIN
            changes.append("DeletionPolicy: Retain")
        if options.get("updateReplacePolicy") is None:
            cfn.cfn_options.update_replace_policy = cdk.CfnDeletionPolicy.RETAIN
            changes.append("UpdateReplacePolicy: Retain")
        return changes


@jsii.implements(cdk.IAspect)
class _EnforceOnce:
    """The Aspect of the enforcer's own leaf construct: visited once, it fills every table
    of the scope's Stage."""

    def __init__(self, enforcer: TableSafetyEnforcer, scope: Construct) -> None:
        self._enforcer = enforcer
        self._scope = scope

    def visit(self, node: IConstruct) -> None:
        for stack, cfns, owned in tables_by_stack(self._scope):
            self._enforcer._fill(stack, cfns, with_options=not owned)


def tables_by_stack(scope: Construct) -> list[tuple[cdk.Stack, list[Any], bool]]:
    """The DynamoDB L1s of scope's Stage, grouped by the stack or nested stack that holds
    them, each group with whether every L1 there belongs to a `Table`/`TableV2` (as many
    L2s as L1s: each L2 makes exactly one)."""
    stacks: list[Any] = []
    todo: list[Any] = [scope]
    while todo:  # down to the stacks, not into nested Stages: a few constructs
        construct = todo.pop()
        if isinstance(construct, cdk.Stack):
            stacks.append(construct)
        elif construct is scope or not isinstance(construct, cdk.Stage):
            todo.extend(construct.node.children)
    if not stacks and not isinstance(scope, cdk.Stage):
        stacks.append(cdk.Stack.of(scope))  # a construct inside a stack
    grouped = []
    seen: set[str] = set()
    while stacks:
        stack = stacks.pop()
        if ref(stack) in seen:  # a nested stack of a nested stack is listed by both parents
            continue
        seen.add(ref(stack))
        members = stack.node.find_all()  # preorder: the stack itself first
        nested = [c for c in members[1:] if isinstance(c, cdk.Stack)]
        elsewhere = {ref(c) for inner in nested for c in inner.node.find_all()}
        mine = [c for c in members if ref(c) not in elsewhere]
        tables = [c for c in mine if isinstance(c, TABLE_L1)]
        stacks.extend(nested)
        if tables:
            owners = sum(isinstance(c, TABLE_L2) for c in mine)
            grouped.append((stack, tables, owners == len(tables)))
    return grouped
