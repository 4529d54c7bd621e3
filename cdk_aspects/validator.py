"""`TableSafetyValidator`: the tablesafe rules as a CDK policy-validation plugin.

    cdk.Validations.of(app).add_plugins(TableSafetyValidator())

CDK calls a plugin once, after synthesis, with the paths of the templates it wrote. The
validator judges them in this process with the loader, configuration, lockfile and engine
of `tablesafe check`, so it sees what is deployed (raw overrides, other Aspects, the
removal policies), costs no jsii call per construct, and reaches the stacks of every Stage
of the App it is registered on. Its violations appear in CDK's validation report and an
error fails `cdk synth`.
"""

from __future__ import annotations

import datetime as dt

import aws_cdk as cdk
import jsii

from tablesafe import __version__
from tablesafe.model import Finding
from tablesafe.output import FAIL_ON
from tablesafe.rules import ALL_RULES

from ._common import load, today_or
from ._resource import ref
from ._synthesized import (
    PACK_NAME,
    PACKED_APPS,
    Judgement,
    input_violation,
    judge_synthesized,
    removed_resource,
    template_resource,
    violation,
    warn_once,
)

PLUGIN_NAME = "tablesafe"
"""The name in the validation report; CDK acknowledgments use it as namespace: `tablesafe::TS003`."""


@jsii.implements(cdk.IPolicyValidationPlugin)
class TableSafetyValidator:
    """Reports TS001-TS007 on every DynamoDB table of the synthesized app (TS005 and TS006
    against the lockfile, when there is one).

    Each finding is one violation named by its rule id (`TS001`), with the full message
    (table, replica region), the fix, the template and the logical ID. Findings suppressed
    with `suppress()` or exempted in `.tablesafe.yaml` are left out; CDK's
    `Validations.of(construct).acknowledge(Acknowledgment(id="tablesafe::TS003", ...))` works
    too. Registered with a `TableSafetyPack` in the same app, it leaves the findings to the pack.

    config_path: a `.tablesafe.yaml`; by default the one found from the working directory up.
        A broken configuration raises ValueError here, before synthesis.
    lock_path: a `tablesafe.lock.json`; by default the one found from the working directory up.
    fail_on: the lowest severity that fails the synth, as `tablesafe check --fail-on`.
    today: the date that suppression and exemption expiries are compared with (tests).
    """

    def __init__(
        self,
        config_path: str | None = None,
        *,
        lock_path: str | None = None,
        fail_on: str = "error",
        today: dt.date | None = None,
    ) -> None:
        config, errors = load(config_path)
        if errors:
            raise ValueError("tablesafe configuration: " + "; ".join(map(str, errors)))
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        self._config = config
        self._lock_path = lock_path
        self._threshold = FAIL_ON[fail_on]
        self._today = today
        self._told: set[str] = set()

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return __version__

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in ALL_RULES]

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        if ref(context.app_construct) in PACKED_APPS:
            warn_once(
                self._told,
                f"TableSafetyPack reports the tablesafe rules in this app ({PACK_NAME}-TS001 ...): "
                "TableSafetyValidator leaves the findings to it, so each is reported once",
            )
            return cdk.PolicyValidationPluginReport(success=True, violations=[], plugin_version=__version__)
        judgement = judge_synthesized(
            context.template_paths, self._config, self._lock_path, today_or(self._today)
        )
        for note in judgement.notices:
            warn_once(self._told, note)
        return self._report(judgement)

    def _report(self, judgement: Judgement) -> cdk.PolicyValidationPluginReport:
        active = [f for f in judgement.findings if not f.suppressed]
        gone = [f for f in judgement.gone if not f.suppressed]
        violations = [input_violation(error) for error in judgement.errors]
        violations += [violation(f, f.rule.id, template_resource(f)) for f in active]
        violations += [violation(f, f.rule.id, removed_resource(f)) for f in gone]
        return cdk.PolicyValidationPluginReport(
            success=not judgement.errors and not any(self._fails(f) for f in (*active, *gone)),
            violations=violations,
            plugin_version=__version__,
        )

    def _fails(self, finding: Finding) -> bool:
        return self._threshold is not None and finding.severity.rank >= self._threshold.rank
