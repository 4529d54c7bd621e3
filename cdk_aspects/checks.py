"""`TableSafetyChecks`: the tablesafe rules as a CDK Aspect that reports with Annotations.

`visit` only collects the DynamoDB constructs (an `isinstance` check; for an L1, one jsii
call to find its stack) and registers, once per stack, a construct validation. CDK runs
validations after every Aspect and after `prepare`, so the tables are judged in their
final state whatever the order of Aspects: a `RemovalPolicies.of(scope)` or
`apply_removal_policy` from another Aspect, and the `TableSafetyEnforcer`, are seen.
Annotations added then still reach the cloud assembly, so `cdk synth` fails on an error.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IConstruct, IValidation

from tablesafe.changes import pair_tables
from tablesafe.describe import describe_resource
from tablesafe.engine import evaluate
from tablesafe.lockfile import locked_tables
from tablesafe.model import Finding, Severity, TableDescription
from tablesafe.values import TemplateContext

from ._common import (
    FLAG_WARNING,
    FLAG_WARNING_ID,
    TS002,
    StackFacts,
    finding_text,
    has_intrinsic,
    identity,
    load,
    today_or,
)
from ._resource import TABLE_L1, TABLE_L2, analytics_props, read_tables, ref, resource_type

_EMPTY_CONTEXT = TemplateContext()


class _StackState:
    """The tables of one stack waiting for the stack's validation."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.facts = StackFacts(stack)
        self.pending: list[Any] = []


@jsii.implements(IValidation)
class _DeferredCheck:
    """Runs the checks of one stack when CDK validates the construct tree."""

    def __init__(self, checks: TableSafetyChecks, state: _StackState) -> None:
        self._checks = checks
        self._state = state

    def validate(self) -> list[str]:
        self._checks._judge_stack(self._state)
        return []  # findings are Annotations (errors fail `cdk synth`), not a thrown validation error


@jsii.implements(cdk.IAspect)
class TableSafetyChecks:
    """Reports the tablesafe rules (TS001-TS007) on every DynamoDB table of the scope.

    Covers `dynamodb.Table`, `dynamodb.TableV2` (each replica), `CfnTable` and
    `CfnGlobalTable`. Errors become `Annotations.add_error` (so `cdk synth` fails), warnings
    `add_warning_v2` with the id `tablesafe:<rule id>`, suppressed findings `add_info`. The
    annotation goes on the L2 construct when there is one, else on the L1.

    With a lockfile (`tablesafe lock`), every table is also compared with its locked
    identity: a Table swapped for a TableV2 (TS005) or a change that replaces or deletes a
    table (TS006) is an error too.

    config_path: a `.tablesafe.yaml`; by default the one found from the working directory up.
    lock_path: a `tablesafe.lock.json`; by default the one found from the working directory up.
    today: the date that suppression and exemption expiries are compared with (tests).
    """

    def __init__(
        self, config_path: str | None = None, *, lock_path: str | None = None, today: dt.date | None = None
    ) -> None:
        self._config, self._config_errors = load(config_path)
        self._locked, self._lock_name, lock_errors = locked_tables(lock_path, Path.cwd())
        self._config_errors += lock_errors
        self._today = today
        self._states: dict[str, _StackState] = {}
        self._context_nodes: list[Any] = []
        self._told_roots: set[str] = set()
        self._pending_owners: list[Any] = []
        self._warned_stages: set[str] = set()
        self._owners: dict[str, tuple[Any, Any]] = {}
        """jsii reference of an L1 -> (its L2, the L2's node)."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TABLE_L1):
            stack = cdk.Stack.of(node)
            key = ref(stack)
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _StackState(stack)
                stack.node.add_validation(_DeferredCheck(self, state))
            state.pending.append(node)
        elif isinstance(node, TABLE_L2):
            self._pending_owners.append(node)
        elif isinstance(node, (cdk.CfnParameter, cdk.CfnCondition)):
            self._context_nodes.append(node)
        elif isinstance(node, cdk.Stage):  # the App too
            self._warn_unchecked_stages(node)

    def _warn_unchecked_stages(self, scope: cdk.Stage) -> None:
        """CDK does not apply Aspects across Stage boundaries, and a Stage is synthesized
        before its parent's Aspects run: say so for a child Stage these checks do not reach."""
        for child in scope.node.children:
            if not isinstance(child, cdk.Stage) or ref(child) in self._warned_stages:
                continue
            if not any(isinstance(aspect, TableSafetyChecks) for aspect in cdk.Aspects.of(child).all):
                self._warned_stages.add(ref(child))
                warnings.warn(
                    f"[tablesafe] TableSafetyChecks does not reach the stacks of Stage {child.node.path}: "
                    "CDK does not apply Aspects across Stage boundaries. Add it to the stage too: "
                    "cdk.Aspects.of(stage).add(TableSafetyChecks())",
                    stacklevel=2,
                )

    # --- judging, at validation time -------------------------------------------------------

    def _tell_app_once(self, facts: StackFacts) -> None:
        """Configuration errors and the metadata-flag warning, once per app (on its first stack)."""
        root = ref(facts.root)
        if root in self._told_roots:
            return
        self._told_roots.add(root)
        annotations = cdk.Annotations.of(facts.stack)
        for error in self._config_errors:
            annotations.add_error(f"[tablesafe] configuration {error}")
        if TS002 not in self._config.disabled and not facts.metadata_flag:
            annotations.add_warning_v2(FLAG_WARNING_ID, FLAG_WARNING)

    def _pair_owners(self) -> None:
        """Map each visited L2 to its L1 (its default child): two jsii calls per L2, where
        asking each L1 for its scope and the scope for its node would take three."""
        for owner in self._pending_owners:
            node = owner.node
            child = node.default_child
            if child is not None:
                self._owners[ref(child)] = (owner, node)
        self._pending_owners = []

    def _judge_stack(self, state: _StackState) -> None:
        cfns, state.pending = state.pending, []
        if not cfns:
            return
        facts = state.facts
        self._tell_app_once(facts)
        today = today_or(self._today)
        flag = facts.metadata_flag
        self._pair_owners()
        described_tables: list[TableDescription] = []
        targets: dict[str | None, Any] = {}
        for cfn, read in zip(cfns, read_tables(facts.stack, cfns), strict=True):
            owner, owner_node = self._owners.get(ref(cfn), (None, None))
            target = owner or cfn
            if isinstance(read, Exception):
                cdk.Annotations.of(target).add_error(
                    f"[tablesafe] the table's properties cannot be resolved: {read}"
                )
                continue
            path = cfn.node.path if self._config.exemptions else None
            described = identity(
                resource_type(cfn),
                facts,
                read.logical_id,
                path,
                analytics_props(owner_node) if flag else None,
            )
            ctx = facts.context(self._context_nodes) if has_intrinsic(read.resource) else _EMPTY_CONTEXT
            tables, problems = describe_resource(read.resource, ctx, described)
            described_tables.extend(tables)
            targets[read.logical_id] = target
            self._annotate(target, problems, evaluate(tables, self._config, today))
        if self._locked:
            self._judge_changes(facts, described_tables, targets, today)

    def _judge_changes(
        self,
        facts: StackFacts,
        tables: list[TableDescription],
        targets: dict[str | None, Any],
        today: dt.date,
    ) -> None:
        """TS005/TS006 against the lockfile, for this stack; a removed table is reported on
        the stack (its construct is gone)."""
        locked = [table for table in self._locked if table.stack == facts.name]
        changes, notices = pair_tables(locked, tables, baseline=str(self._lock_name), new_stacks={facts.name})
        for change in changes:
            target = targets.get(change.new.logical_id) if change.new else None
            self._annotate(target or facts.stack, [], evaluate([], self._config, today, [change]))
        for notice in notices:
            cdk.Annotations.of(facts.stack).add_info(f"[tablesafe] {notice.message}")

    @staticmethod
    def _annotate(target: Any, problems: list[str], findings: list[Finding]) -> None:
        if not problems and not findings:
            return
        annotations = cdk.Annotations.of(target)
        for problem in problems:
            annotations.add_error(f"[tablesafe] {problem}")
        for finding in findings:
            text = finding_text(finding)
            if finding.suppressed:
                annotations.add_info(f"{text} (suppressed: {finding.suppression_reason})")
            elif finding.severity is Severity.ERROR:
                annotations.add_error(text)
            elif finding.severity is Severity.WARNING:
                annotations.add_warning_v2(f"tablesafe:{finding.rule.id}", text)
            else:
                annotations.add_info(text)
