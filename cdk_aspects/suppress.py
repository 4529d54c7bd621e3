"""`suppress()`: a reasoned, expiring waiver written into the table's CloudFormation Metadata.

It writes exactly the shape `tablesafe check` and the checkov checks read,
`{"tablesafe": {"suppress": [{"id", "reason", "expires"}]}}`, so the one suppression is
honoured by the Aspect, by `tablesafe check cdk.out` and by checkov alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from constructs import IConstruct

from tablesafe.rules import find_rule
from tablesafe.suppressions import METADATA_KEY, parse_expiry, reason_problem

from ._resource import TABLE_L1


def table_resource(construct: IConstruct) -> Any:
    """The `CfnTable`/`CfnGlobalTable` of a table construct (an L2 or the L1 itself)."""
    if isinstance(construct, TABLE_L1):
        return construct
    child = construct.node.default_child
    if isinstance(child, TABLE_L1):
        return child
    raise TypeError(
        f"{construct.node.path} is not a DynamoDB table: pass a Table, TableV2, CfnTable or CfnGlobalTable"
    )


def suppress(construct: IConstruct, rule: str, *, reason: str, expires: dt.date | str | None = None) -> None:
    """Suppress one rule (id like "TS003" or slug) on one table, with a reason and an expiry.

    Raises ValueError for an unknown rule, a reason shorter than 10 characters or a bad
    date, so a waiver that would be ignored is refused when it is written. Suppressing the
    same rule again replaces the earlier entry; entries for other rules are kept.
    """
    found = find_rule(rule)
    if found is None:
        raise ValueError(f"{rule!r} is not a tablesafe rule id or slug")
    if problem := reason_problem(reason):
        raise ValueError(f"suppress({found.id}): {problem}")
    date, date_problem = parse_expiry(expires)
    if date_problem:
        raise ValueError(f"suppress({found.id}): {date_problem}")
    cfn = table_resource(construct)
    existing = cfn.get_metadata(METADATA_KEY)
    if existing is None:
        existing = {}
    if not isinstance(existing, Mapping) or not isinstance(existing.get("suppress", []), list):
        raise ValueError(f"{cfn.node.path}: Metadata.{METADATA_KEY} exists but is not {{suppress: [...]}}")
    entry: dict[str, Any] = {"id": found.id, "reason": reason.strip()}
    if date is not None:
        entry["expires"] = date.isoformat()
    kept = [
        e for e in existing.get("suppress", []) if not (isinstance(e, Mapping) and e.get("id") == found.id)
    ]
    cfn.add_metadata(METADATA_KEY, {**existing, "suppress": [*kept, entry]})
