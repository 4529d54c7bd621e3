"""Run the rules over table descriptions and apply suppressions and the configuration.

This is the one place where verdicts become findings, for every adapter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

from tablesafe.config import Config
from tablesafe.model import Finding, LoadResult, Report, Rule, Suppression, TableChange, TableDescription
from tablesafe.rules import ALL_RULES


def enabled_rules(config: Config) -> list[Rule]:
    """The rules on by default and not disabled, and the opt-in rules the config enables."""
    return [rule for rule in ALL_RULES if config.runs(rule)]


def _suppression_note(suppression: Suppression, today: dt.date) -> str | None:
    """Why a suppression that names this rule does not apply, for the finding's message."""
    if suppression.problem:
        return f"suppression ignored: {suppression.problem}"
    if suppression.expires and today > suppression.expires:
        return f"suppression expired on {suppression.expires.isoformat()}"
    return None


def judge(
    subject: TableDescription | TableChange, rule: Rule, config: Config, today: dt.date
) -> list[Finding]:
    """The findings of one rule on one table (or, for a change rule, one table change),
    with the suppressions of the table the finding points at applied."""
    messages = rule.check(subject, config.settings)  # type: ignore[arg-type]
    if not messages:
        return []
    table = subject.table if isinstance(subject, TableChange) else subject
    severity = config.severities.get(rule.id, rule.severity)
    reason: str | None = None
    notes: list[str] = []
    for suppression in table.suppressions:
        if suppression.rule_id != rule.id:
            continue
        if suppression.applies(today):
            reason = suppression.reason
        elif note := _suppression_note(suppression, today):
            notes.append(note)
    if reason is None:
        for exemption in config.exemptions:
            if exemption.matches(table, rule.id):
                if exemption.expires and today > exemption.expires:
                    notes.append(f"exemption in {config.path} expired on {exemption.expires.isoformat()}")
                else:
                    reason = exemption.reason
                    break
    suffix = f" ({'; '.join(notes)})" if notes and reason is None else ""
    change = subject if isinstance(subject, TableChange) else None
    return [
        Finding(rule, table, severity, message + suffix, reason is not None, reason, change)
        for message in messages
    ]


def evaluate(
    tables: Iterable[TableDescription],
    config: Config,
    today: dt.date | None = None,
    changes: Iterable[TableChange] = (),
) -> list[Finding]:
    today = today or dt.date.today()
    config = replace(config, settings=replace(config.settings, today=today))  # once, not per table
    enabled = enabled_rules(config)
    rules = [rule for rule in enabled if not rule.judges_changes]
    change_rules = [rule for rule in enabled if rule.judges_changes]
    findings: list[Finding] = []
    for change in changes:
        for rule in change_rules:
            findings.extend(judge(change, rule, config, today))
    judged_resources: set[tuple[str | int | None, ...]] = set()
    for table in tables:
        # A per-resource rule is judged on the first description of a resource only.
        key = table.resource_key
        first = key not in judged_resources
        judged_resources.add(key)
        for rule in rules:
            if first or not rule.per_resource:
                findings.extend(judge(table, rule, config, today))
    return findings


def build_report(loaded: LoadResult, config: Config, today: dt.date | None = None) -> Report:
    rules = enabled_rules(config)
    enabled_ids = {rule.id for rule in rules}
    notices = [
        *config.notices(),
        *(n for n in loaded.notices if n.rule_id is None or n.rule_id in enabled_ids),
    ]
    return Report(
        findings=evaluate(loaded.tables, config, today, loaded.changes),
        tables=loaded.tables,
        rules=rules,
        errors=loaded.errors,
        notices=notices,
        stacks=loaded.stacks,
    )
