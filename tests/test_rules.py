"""Each rule against its PASS and FAIL fixture templates (checkov's style).

Logical IDs say the verdict: every `Fail*` table must be reported by the rule and every
`Pass*` table must not, in JSON, YAML with short-form tags, and a hand-made assembly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from tablesafe.baseline import compare
from tablesafe.config import Config
from tablesafe.engine import evaluate
from tablesafe.loader import load_paths
from tablesafe.model import TABLE, Rule, RuleSettings, Source, TableChange, TableDescription, Unknown
from tablesafe.remediation import of_rule
from tablesafe.reports import finding_dict
from tablesafe.rules import ALL_RULES, RULES_BY_ID

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"
ONLY = {rule.id: Config(disabled=frozenset(RULES_BY_ID) - {rule.id}) for rule in ALL_RULES}
TEMPLATE_RULES = [rule for rule in ALL_RULES if rule.id != "TS008"]
"""The rules with PASS/FAIL fixture templates; TS008 judges deployed tables only (below, and
end to end in tests/test_drill.py)."""


def _findings(rule_id: str, settings: RuleSettings | None = None):
    """The rule's findings on its fixtures; a change rule compares its template with the
    one in baseline/ (a folder is read with its subfolders, so the template is named)."""
    changes = RULES_BY_ID[rule_id].judges_changes
    loaded = load_paths([str(FIXTURES / rule_id / "stack.template.json" if changes else FIXTURES / rule_id)])
    if changes:
        compare(loaded, [], str(FIXTURES / rule_id / "baseline"), None, FIXTURES)
    assert loaded.errors == []
    config = ONLY[rule_id] if settings is None else replace(ONLY[rule_id], settings=settings)
    return loaded, evaluate(loaded.tables, config, dt.date(2026, 11, 22), loaded.changes)


@pytest.mark.parametrize("rule", TEMPLATE_RULES, ids=lambda rule: rule.id)
def test_fail_tables_fail_and_pass_tables_pass(rule: Rule) -> None:
    """For a change rule, a Fail table of the baseline that is gone from the new side counts."""
    loaded, findings = _findings(rule.id)
    tables = {t.logical_id for t in loaded.tables} | {c.old.logical_id for c in loaded.changes if not c.new}
    expected = {name for name in tables if name and name.startswith("Fail")}
    assert expected, "each rule needs FAIL fixtures"
    assert {name for name in tables if name and name.startswith("Pass")}, "each rule needs PASS fixtures"
    assert {f.table.logical_id for f in findings} == expected
    assert all(f.rule.id == rule.id for f in findings)


def test_global_tables_are_judged_per_replica() -> None:
    _, findings = _findings("TS003")
    replica = [f for f in findings if f.table.logical_id == "FailGlobalSecondReplica"]
    assert [f.table.replica_region for f in replica] == ["eu-west-1"]
    assert finding_dict(replica[0])["replica_region"] == "eu-west-1"


def test_resource_level_rules_report_once_per_global_table() -> None:
    _, findings = _findings("TS004")
    deletes = [f for f in findings if f.table.logical_id == "FailGlobalDelete"]
    assert len(deletes) == 1
    assert finding_dict(deletes[0])["replica_region"] is None


@pytest.mark.parametrize(
    ("logical_id", "words"),
    [
        ("FailFromParameter", ["parameter EnablePitr"]),
        ("FailFromCondition", ["condition IsProd", "parameter Stage"]),
        ("FailSpecFromCondition", ["condition IsProd"]),
        ("FailImported", ["Fn::ImportValue"]),
        ("FailNotABoolean", ["enabled", "not a boolean"]),
        ("FailDisabled", ["disabled"]),
        ("FailMissing", ["no PointInTimeRecoverySpecification"]),
        ("FailSpecWithoutFlag", ["PointInTimeRecoverySpecification has no PointInTimeRecoveryEnabled"]),
        ("FailSpecNotAMapping", ["PointInTimeRecoverySpecification is false, not a mapping"]),
    ],
)
def test_fail_closed_messages_name_what_the_value_depends_on(logical_id: str, words: list[str]) -> None:
    _, findings = _findings("TS001")
    (finding,) = [f for f in findings if f.table.logical_id == logical_id]
    for word in words:
        assert word in finding.message


def test_deletion_protection_messages_follow_nested_conditions() -> None:
    _, findings = _findings("TS003")
    by_id = {f.table.logical_id: f.message for f in findings}
    assert "condition NotProd" in by_id["FailFromNestedCondition"]
    assert "parameter Protect" in by_id["FailFromNestedCondition"]
    assert "undefined condition Missing" in by_id["FailUndefinedCondition"]
    assert "Replicas" in by_id["FailGlobalReplicasFromParameter"]


def test_removal_policy_message_explains_the_missing_attribute() -> None:
    _, findings = _findings("TS004")
    by_id = {f.table.logical_id: f.message for f in findings}
    assert "DeletionPolicy is not set, which CloudFormation treats as Delete" in by_id["FailNoPolicies"]
    assert "UpdateReplacePolicy is not set" in by_id["FailOnlyDeletionPolicy"]
    assert "parameter Policy" in by_id["FailPolicyFromParameter"]


def test_recovery_period_minimum_is_configurable() -> None:
    _, strict = _findings("TS007", RuleSettings(min_recovery_period_days=35))
    assert {f.table.logical_id for f in strict} == {
        "FailOneDay",
        "FailDaysFromParameter",
        "FailGlobalShortReplica",
        "PassSevenDays",
    }
    _, lenient = _findings("TS007", RuleSettings(min_recovery_period_days=1))
    assert {f.table.logical_id for f in lenient} == {"FailDaysFromParameter"}


def test_deprecated_prop_on_replicas_is_named() -> None:
    _, findings = _findings("TS002")
    by_id = {f.table.logical_id: f.message for f in findings}
    assert "pointInTimeRecovery (Python: point_in_time_recovery) prop" in by_id["FailOld"]  # language unknown
    assert "replicas" in by_id["FailReplicaProp"]


@pytest.mark.parametrize(
    ("language", "deprecated", "current"),
    [
        ("python", "point_in_time_recovery prop", "Use point_in_time_recovery_specification."),
        ("typescript", "pointInTimeRecovery prop", "Use pointInTimeRecoverySpecification."),
    ],
)
def test_deprecated_prop_is_named_as_the_apps_language_spells_it(
    language: str, deprecated: str, current: str
) -> None:
    table = TableDescription(TABLE, cdk_props={"pointInTimeRecovery": True}, language=language)
    (message,) = RULES_BY_ID["TS002"].check(table, RuleSettings())
    assert f"deprecated {deprecated}" in message and message.endswith(current)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_rule_metadata_is_complete(rule: Rule) -> None:
    assert rule.id.startswith("TS") and rule.slug and rule.title and len(rule.rationale) > 40
    remediation = of_rule(rule)
    assert remediation.summary and remediation.cdk_python and remediation.cdk_typescript
    # no command fixes a deprecated prop (source only) or a deployed stack's removal policy
    assert bool(remediation.cli) is (rule.id not in ("TS002", "TS004"))
    assert rule.controls and rule.help_url.startswith("https://")


@pytest.mark.parametrize(
    ("last_proven", "source", "message"),
    [
        (dt.date(2026, 11, 1), Source.LIVE, None),
        (dt.date(2026, 10, 18), Source.LIVE, "on 2026-10-18, 35 days ago: older than drill.max_age_days"),
        (None, Source.LIVE, "No restore drill has proven that this table can be recreated"),
        (Unknown("no drill results were read"), Source.LIVE, "cannot be proven: no drill results were read"),
        (None, Source.TEMPLATE, None),
    ],
)
def test_ts008_judges_the_age_of_a_live_tables_last_proven_drill(
    last_proven: object, source: Source, message: str | None
) -> None:
    table = TableDescription(TABLE, source=source, last_proven=last_proven)  # type: ignore[arg-type]
    settings = RuleSettings(drill_max_age_days=30, today=dt.date(2026, 11, 22))
    found = RULES_BY_ID["TS008"].check(table, settings)
    assert (message is None and found == []) or (len(found) == 1 and message in found[0]), found


def test_an_opt_in_rule_runs_only_when_the_config_enables_it() -> None:
    from tablesafe.engine import enabled_rules

    assert RULES_BY_ID["TS008"].default_enabled is False
    assert "TS008" not in {rule.id for rule in enabled_rules(Config())}
    assert "TS008" in {rule.id for rule in enabled_rules(Config(enabled=frozenset({"TS008"})))}
    live = TableDescription(TABLE, source=Source.LIVE, table_name="orders")
    found = evaluate([live], Config(enabled=frozenset({"TS008"})), dt.date(2026, 11, 22))
    assert "TS008" in [f.rule.id for f in found]


@pytest.mark.parametrize(
    "value",
    [True, False, None, Unknown("depends on parameter P")],
)
def test_rules_are_pure_functions_of_the_description(value: object) -> None:
    table = TableDescription(
        resource_type="AWS::DynamoDB::Table",
        pitr_enabled=value,
        deletion_protection=value,  # type: ignore[arg-type]
    )
    removed = TableChange(table, None)
    for rule in ALL_RULES:
        subject = removed if rule.judges_changes else table
        first = rule.check(subject, RuleSettings())  # type: ignore[arg-type]
        assert first == rule.check(subject, RuleSettings())  # type: ignore[arg-type]
        assert all(isinstance(message, str) and message for message in first)
