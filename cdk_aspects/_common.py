"""What the Aspect and the cdk-nag pack share: per-stack facts, the finding text, config."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from tablesafe.config import Config, load_config
from tablesafe.model import Finding, InputError, Source, TableDescription
from tablesafe.values import TemplateContext, intrinsic_call

from ._resource import METADATA_FLAG, ref, stack_display_name

TS002 = "TS002"
FLAG_WARNING_ID = "tablesafe:metadata-flag-off"
FLAG_WARNING = (
    "[tablesafe] TS002 (pitr-deprecated-prop) cannot be judged in this app: the context flag "
    f"{METADATA_FLAG} is not true, so the props a Table/TableV2 was created with (the deprecated "
    'point_in_time_recovery among them) are invisible. Set "context": {"'
    f'{METADATA_FLAG}": true}} in cdk.json (new CDK projects do).'
)


def finding_text(finding: Finding) -> str:
    """`[TS001 pitr-missing] <message> Fix: <remediation summary>`; a replica is named first."""
    rule = finding.rule
    where = f"Replica {finding.replica_region}: " if finding.replica_region else ""
    return f"[{rule.id} {rule.slug}] {where}{finding.message} Fix: {rule.remediation.summary}"


def load(config_path: str | None) -> tuple[Config, list[InputError]]:
    """The `.tablesafe.yaml` that applies (explicit, or found from the working directory up)."""
    return load_config(config_path, Path.cwd())


def today_or(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


def has_intrinsic(value: Any) -> bool:
    """Whether a resolved value refers to a parameter or a condition (so the context matters)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, Mapping):
            if intrinsic_call(item) is not None:
                return True
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


class StackFacts:
    """Facts about one stack, each fetched once (every jsii call is a round trip)."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self._name: str | None = None
        self._flag: bool | None = None
        self._root: Any = None
        self._context: TemplateContext | None = None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = stack_display_name(self.stack)
        return self._name

    @property
    def metadata_flag(self) -> bool:
        if self._flag is None:
            self._flag = bool(cdk.FeatureFlags.of(self.stack).is_enabled(METADATA_FLAG))
        return self._flag

    @property
    def root(self) -> Any:
        if self._root is None:
            self._root = self.stack.node.root
        return self._root

    def context(self, candidates: list[Any]) -> TemplateContext:
        """Parameters and conditions of this stack among the visited CfnParameter/CfnCondition."""
        if self._context is None:
            mine = [c for c in candidates if ref(cdk.Stack.of(c)) == ref(self.stack)]
            parameters = [c for c in mine if isinstance(c, cdk.CfnParameter)]
            conditions = [c for c in mine if isinstance(c, cdk.CfnCondition)]
            resolved = self.stack.resolve(
                [[p.logical_id for p in parameters], [[c.logical_id, c.expression] for c in conditions]]
            )
            self._context = TemplateContext(
                parameters=frozenset(resolved[0]),
                conditions={name: expression for name, expression in resolved[1]},
            )
        return self._context


def identity(
    resource_type: str,
    facts: StackFacts,
    logical_id: str | None,
    construct_path: str | None,
    cdk_props: Mapping[str, Any] | None,
) -> TableDescription:
    return TableDescription(
        resource_type=resource_type,
        source=Source.CDK,
        stack=facts.name,
        logical_id=logical_id,
        construct_path=construct_path,
        cdk_props=cdk_props,
    )
