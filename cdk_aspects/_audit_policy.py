"""The audit's IAM policy, read from the package (`tablesafe/scanner/audit-policy.json`, the
CLI's policy that tests/test_audit.py proves equal to the calls of a full audit): the one
source of the auditor role's and the member role's read permissions. The drill's policy
(`drill-policy.json`) is read the same way for the scheduled drill's role."""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_iam as iam


def package_policy(file_name: str) -> dict[str, Any]:
    """A policy document shipped in tablesafe.scanner (audit-policy.json, drill-policy.json)."""
    return json.loads(importlib.resources.files("tablesafe.scanner").joinpath(file_name).read_text())


def audit_policy() -> dict[str, Any]:
    return package_policy("audit-policy.json")


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def policy_statements(
    *, without: Sequence[str] = (), assume_role_arns: Sequence[str] = ()
) -> list[iam.PolicyStatement]:
    """The policy's statements minus the actions of the `without` services (e.g.
    "organizations"), with `sts:AssumeRole` granted on `assume_role_arns` only (dropped when
    there are none)."""
    statements = []
    for statement in audit_policy()["Statement"]:
        actions = [a for a in as_list(statement["Action"]) if a.split(":")[0] not in without]
        resources = (
            list(assume_role_arns) if actions == ["sts:AssumeRole"] else as_list(statement["Resource"])
        )
        if actions and resources:
            statements.append(iam.PolicyStatement(sid=statement["Sid"], actions=actions, resources=resources))
    return statements
