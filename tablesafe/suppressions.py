"""Suppressions: reasoned, expiring waivers, read from resource Metadata.

The same Metadata shape is written by the CDK helper and read by `tablesafe check`, the
Aspect and the checkov checks, so one suppression works everywhere:
`{"tablesafe": {"suppress": [{"id": "TS003", "reason": "...", "expires": "2027-01-31"}]}}`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tablesafe.model import Suppression
from tablesafe.values import brief

MIN_REASON_LENGTH = 10
METADATA_KEY = "tablesafe"


def parse_expiry(value: Any) -> tuple[dt.date | None, str | None]:
    """An ISO date (YAML may already have parsed it), or the problem with it."""
    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    return None, f"expires must be a date like 2027-01-31, not {brief(value)}"


def reason_problem(reason: Any) -> str | None:
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
        return f"a reason of at least {MIN_REASON_LENGTH} characters is required"
    return None


def from_metadata(metadata: Any, known_rule_ids: frozenset[str]) -> tuple[tuple[Suppression, ...], list[str]]:
    """Suppressions in a resource's Metadata, and problems that make entries unusable.

    An entry with a known rule id but a bad reason or date is kept with its problem, so the
    finding it fails to suppress can say why.
    """
    if not isinstance(metadata, Mapping) or METADATA_KEY not in metadata:
        return (), []
    block = metadata[METADATA_KEY]
    entries = block.get("suppress") if isinstance(block, Mapping) else None
    if not isinstance(entries, list):
        return (), [f"Metadata.{METADATA_KEY}.suppress must be a list of {{id, reason, expires}}"]
    suppressions: list[Suppression] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        where = f"Metadata.{METADATA_KEY}.suppress[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where} must be a mapping with id, reason and expires")
            continue
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or rule_id not in known_rule_ids:
            problems.append(f"{where}.id {brief(rule_id)} is not a tablesafe rule id")
            continue
        unknown = sorted(str(k) for k in entry if k not in ("id", "reason", "expires"))
        expires, date_problem = parse_expiry(entry.get("expires"))
        problem = reason_problem(entry.get("reason")) or date_problem
        if unknown:
            problems.append(f"{where} has unknown keys: {', '.join(unknown)}")
        reason = entry.get("reason") if isinstance(entry.get("reason"), str) else ""
        suppressions.append(Suppression(rule_id, reason.strip(), expires, "metadata", problem))
    return tuple(suppressions), problems
