"""The `.tablesafe.yaml` configuration: rule switches, severities, the minimum recovery
period, exemptions, and the restore drills' settings (`drill`: TS008's maximum age, prices).

A bad entry is reported with the file and the key and then ignored, which is the
fail-closed choice: an exemption or a disabled rule that cannot be read does not apply.
A switch that weakens the gate (a rule disabled, a severity below the rule's own) needs a
reason like a suppression does, and every report says which rules are off and why
(Config.notices), so a pull request cannot turn the gate off silently.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tablesafe.model import CONFIG_ERROR, InputError, Notice, Rule, RuleSettings, Severity, TableDescription
from tablesafe.rules import ALL_RULES, find_rule
from tablesafe.suppressions import parse_expiry, reason_problem
from tablesafe.values import brief, display

CONFIG_NAME = ".tablesafe.yaml"
_TOP_KEYS = ("min_recovery_period_days", "rules", "exemptions", "drill")
_DRILL_KEYS = ("max_age_days", "prices")
MAX_DRILL_AGE_DAYS = 3650
LIST_PRICES: Mapping[str, float] = {
    # ExportTableToPointInTime (full export), per GB of table size
    "export_per_gb": 0.10,
    # ImportTable, per GB of uncompressed source data (about the table size)
    "import_per_gb": 0.15,
    # RestoreTableToPointInTime, per GB restored
    "restore_per_gb": 0.15,
    # on-demand read request units, per million: the sample read by key, and the restore
    # route's count of the restored table (a scan: half a unit per 4 KB, eventually consistent)
    "read_request_per_million": 0.125,
}
"""The restore drill's AWS list prices in USD (us-east-1, on-demand, at the time of writing):
the defaults `drill.prices` overrides, so that an estimate can follow another region."""
_RULE_KEYS = ("enabled", "severity", "reason")
_MATCH_KEYS = ("stack", "logical_id", "construct_path", "table_arn")
_EXEMPTION_KEYS = ("rules", *_MATCH_KEYS, "reason", "expires")


@dataclass(frozen=True, slots=True)
class Exemption:
    """Waives rules for the tables whose identifiers match every given glob."""

    rules: frozenset[str]
    patterns: Mapping[str, str]
    reason: str
    expires: dt.date | None

    def matches(self, table: TableDescription, rule_id: str) -> bool:
        if self.rules and rule_id not in self.rules:
            return False
        return all(
            (value := getattr(table, key)) is not None and fnmatch.fnmatchcase(value, pattern)
            for key, pattern in self.patterns.items()
        )


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None
    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] = field(default_factory=dict)
    settings: RuleSettings = field(default_factory=RuleSettings)
    exemptions: tuple[Exemption, ...] = ()
    enabled: frozenset[str] = frozenset()
    """Rules the config turns on: what runs an opt-in rule (Rule.default_enabled False)."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Rule id -> why it is disabled or its severity lowered (required for both)."""
    drill_prices: Mapping[str, float] = field(default_factory=dict)
    """`drill.prices`: list prices the drill's cost estimate uses instead of its own."""

    def runs(self, rule: Rule) -> bool:
        """The rule runs: enabled by default and not disabled, or an opt-in rule turned on."""
        return rule.id in self.enabled or (rule.default_enabled and rule.id not in self.disabled)

    def notices(self) -> list[Notice]:
        """What this configuration switches off, for every report of a run: each disabled
        rule and each lowered severity with its reason, and a warning when no rule is left."""
        notices = []
        for rule in ALL_RULES:
            reason = self.reasons.get(rule.id, "")
            if rule.id in self.disabled:
                change = "is disabled"
            elif (severity := self.severities.get(rule.id, rule.severity)).rank < rule.severity.rank:
                change = f"is lowered from {rule.severity.value} to {severity.value}"
            else:
                continue
            notices.append(Notice(Severity.INFO, f"{rule.id} {rule.slug} {change} by {self.path}: {reason}"))
        if not any(
            rule.id in self.enabled or (rule.default_enabled and rule.id not in self.disabled)
            for rule in ALL_RULES
        ):
            notices.append(
                Notice(Severity.WARNING, f"{self.path} disables every rule: this run checks nothing")
            )
        return notices


def find_upwards(start: Path, name: str) -> Path | None:
    """The nearest file called name from start upwards (the config file, the lockfile)."""
    for directory in (start, *start.parents):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | None, start: Path) -> tuple[Config, list[InputError]]:
    """The configuration to use, and the problems found in it (each naming file and key)."""
    path = Path(explicit) if explicit else find_upwards(start, CONFIG_NAME)
    if path is None:
        return Config(), []
    from tablesafe.loader import InputProblem, parse_document, read_text

    shown = str(path)
    try:
        document = parse_document(read_text(path), path) if path.is_file() or explicit else None
    except InputProblem as problem:
        if str(problem) == "file is empty":
            return Config(path=shown), []
        return Config(), [InputError(shown, str(problem), kind=CONFIG_ERROR)]
    if document is None:
        return Config(path=shown), []
    if not isinstance(document, Mapping):
        return Config(), [
            InputError(shown, "the configuration must be a mapping of settings", kind=CONFIG_ERROR)
        ]
    return _ConfigReader(shown).read(document)


class _ConfigReader:
    """Reads a parsed config document, collecting one error per bad key."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.errors: list[InputError] = []

    def problem(self, key: str, text: str) -> None:
        self.errors.append(InputError(self.shown, f"{display(key, 120)}: {text}", kind=CONFIG_ERROR))

    def unknown_keys(self, mapping: Mapping[Any, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(f"{where}{key}", f"unknown key (expected one of {', '.join(allowed)})")

    def read(self, document: Mapping[str, Any]) -> tuple[Config, list[InputError]]:
        self.unknown_keys(document, _TOP_KEYS, "")
        enabled, disabled, severities, reasons = self.rules(document.get("rules", {}))
        drill = document.get("drill", {})
        if not isinstance(drill, Mapping):
            self.problem("drill", "must be a mapping with max_age_days and/or prices")
            drill = {}
        self.unknown_keys(drill, _DRILL_KEYS, "drill.")
        config = Config(
            path=self.shown,
            disabled=frozenset(disabled),
            severities=severities,
            reasons=reasons,
            enabled=frozenset(enabled),
            drill_prices=self.drill_prices(drill.get("prices", {})),
            settings=RuleSettings(
                min_recovery_period_days=self.min_days(document),
                drill_max_age_days=self.drill_max_age(drill),
            ),
            exemptions=tuple(self.exemptions(document.get("exemptions", []))),
        )
        return config, self.errors

    def min_days(self, document: Mapping[str, Any]) -> int:
        default = RuleSettings().min_recovery_period_days
        value = document.get("min_recovery_period_days", default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 35:
            self.problem(
                "min_recovery_period_days", f"must be a whole number from 1 to 35, not {brief(value)}"
            )
            return default
        return value

    def drill_max_age(self, drill: Mapping[str, Any]) -> int:
        default = RuleSettings().drill_max_age_days
        value = drill.get("max_age_days", default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DRILL_AGE_DAYS:
            allowed = f"from 1 to {MAX_DRILL_AGE_DAYS}"
            self.problem("drill.max_age_days", f"must be a whole number {allowed}, not {brief(value)}")
            return default
        return value

    def drill_prices(self, section: Any) -> dict[str, float]:
        if not isinstance(section, Mapping):
            self.problem("drill.prices", f"must be a mapping of {', '.join(LIST_PRICES)} to USD")
            return {}
        prices = {}
        for name, value in section.items():
            key = f"drill.prices.{name}"
            if name not in LIST_PRICES:
                self.problem(key, f"unknown price (expected one of {', '.join(LIST_PRICES)})")
            elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
                self.problem(key, f"must be a number of USD of at least 0, not {brief(value)}")
            else:
                prices[str(name)] = float(value)
        return prices

    def rules(self, section: Any) -> tuple[set[str], set[str], dict[str, Severity], dict[str, str]]:
        """The rules switched on (an opt-in rule) and off, the severity overrides, and why each
        that weakens the gate does; a weakening switch without a reason is an error and does
        not apply."""
        enabled: set[str] = set()
        disabled: set[str] = set()
        severities: dict[str, Severity] = {}
        reasons: dict[str, str] = {}
        if not isinstance(section, Mapping):
            self.problem("rules", "must be a mapping of rule id to {enabled, severity, reason}")
            return enabled, disabled, severities, reasons
        for name, options in section.items():
            key = f"rules.{name}"
            rule = find_rule(str(name))
            if rule is None:
                self.problem(key, "is not a tablesafe rule id or slug")
                continue
            if not isinstance(options, Mapping):
                self.problem(key, "must be a mapping with enabled, severity and reason")
                continue
            self.unknown_keys(options, _RULE_KEYS, f"{key}.")
            reason = options.get("reason")
            switch = options.get("enabled")
            if "enabled" in options and not isinstance(switch, bool):
                self.problem(f"{key}.enabled", f"must be true or false, not {brief(switch)}")
            elif switch is True:
                enabled.add(rule.id)
            elif switch is False and self.reasoned(key, "enabled", "false switches the rule off", reason):
                disabled.add(rule.id)
                reasons[rule.id] = reason.strip()
            if "severity" not in options:
                continue
            try:
                severity = Severity(options["severity"])
            except ValueError:
                self.problem(
                    f"{key}.severity", f"must be error, warning or info, not {brief(options['severity'])}"
                )
                continue
            if severity.rank < rule.severity.rank:
                below = f"{severity.value} is below the rule's own {rule.severity.value}"
                if not self.reasoned(key, "severity", below, reason):
                    continue
                reasons[rule.id] = reason.strip()
            severities[rule.id] = severity
        return enabled, disabled, severities, reasons

    def reasoned(self, key: str, option: str, weakening: str, reason: Any) -> bool:
        """Whether a switch that weakens the gate says why; if not, the error naming it."""
        if problem := reason_problem(reason):
            self.problem(f"{key}.{option}", f"{weakening}: say why in {key}.reason ({problem})")
            return False
        return True

    def exemptions(self, section: Any) -> list[Exemption]:
        if not isinstance(section, list):
            self.problem("exemptions", "must be a list")
            return []
        exemptions = []
        for index, entry in enumerate(section):
            key = f"exemptions[{index}]"
            if not isinstance(entry, Mapping):
                self.problem(key, "must be a mapping")
                continue
            self.unknown_keys(entry, _EXEMPTION_KEYS, f"{key}.")
            exemption = self.exemption(entry, key)
            if exemption is not None:
                exemptions.append(exemption)
        return exemptions

    def exemption(self, entry: Mapping[str, Any], key: str) -> Exemption | None:
        valid = True
        rule_names = entry.get("rules", [])
        rule_names = [rule_names] if isinstance(rule_names, str) else rule_names
        rule_ids = set()
        if not isinstance(rule_names, list):
            self.problem(f"{key}.rules", "must be a list of rule ids")
            valid = False
        else:
            for name in rule_names:
                rule = find_rule(str(name))
                if rule is None:
                    self.problem(f"{key}.rules", f"{brief(name)} is not a tablesafe rule id or slug")
                    valid = False
                else:
                    rule_ids.add(rule.id)
        patterns = {k: entry[k] for k in _MATCH_KEYS if k in entry}
        if not patterns:
            self.problem(key, f"needs at least one of {', '.join(_MATCH_KEYS)}")
            valid = False
        for name, pattern in patterns.items():
            if not isinstance(pattern, str):
                self.problem(f"{key}.{name}", "must be a string (a glob)")
                valid = False
        if problem := reason_problem(entry.get("reason")):
            self.problem(f"{key}.reason", problem)
            valid = False
        expires, date_problem = parse_expiry(entry.get("expires"))
        if date_problem:
            self.problem(f"{key}.expires", date_problem)
            valid = False
        if not valid:
            return None
        return Exemption(frozenset(rule_ids), patterns, entry["reason"].strip(), expires)
