"""What the in-app integrations share: per-stack facts, the finding text, the configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from tablesafe.config import Config, load_config
from tablesafe.model import Finding, InputError, Source, TableDescription

from ._resource import METADATA_FLAG, stack_display_name


def finding_description(finding: Finding) -> str:
    """`[TS001 pitr-missing] <message>`; a replica is named first."""
    rule = finding.rule
    where = f"Replica {finding.replica_region}: " if finding.replica_region else ""
    return f"[{rule.id} {rule.slug}] {where}{finding.message}"


def load(config_path: str | None) -> tuple[Config, list[InputError]]:
    """The `.tablesafe.yaml` that applies (explicit, or found from the working directory up)."""
    return load_config(config_path, Path.cwd())


def today_or(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


class StackFacts:
    """Facts about one stack, each fetched once (every jsii call is a round trip)."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self._name: str | None = None
        self._flag: bool | None = None

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
