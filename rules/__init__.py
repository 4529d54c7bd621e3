"""The rule catalogue: one module per rule, its metadata beside one pure check function."""

from __future__ import annotations

from tablesafe.model import Rule
from tablesafe.rules import (
    ts001_pitr_missing,
    ts002_pitr_deprecated_prop,
    ts003_deletion_protection_missing,
    ts004_removal_policy_not_retain,
    ts005_table_v2_swap,
    ts006_table_replacement,
    ts007_pitr_recovery_period_short,
    ts008_recreation_unproven,
)

ALL_RULES: tuple[Rule, ...] = (
    ts001_pitr_missing.RULE,
    ts002_pitr_deprecated_prop.RULE,
    ts003_deletion_protection_missing.RULE,
    ts004_removal_policy_not_retain.RULE,
    ts005_table_v2_swap.RULE,
    ts006_table_replacement.RULE,
    ts007_pitr_recovery_period_short.RULE,
    ts008_recreation_unproven.RULE,
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}
RULE_IDS: frozenset[str] = frozenset(RULES_BY_ID)


def find_rule(name: str) -> Rule | None:
    """A rule by id (TS001) or slug (pitr-missing)."""
    return RULES_BY_ID.get(name.upper()) or next((r for r in ALL_RULES if r.slug == name.lower()), None)
