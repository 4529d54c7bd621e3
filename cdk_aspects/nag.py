"""`TableSafetyPack`: the tablesafe rules as a cdk-nag 3.x pack (a CDK policy-validation plugin).

    Validations.of(app).add_plugins(TableSafetyPack(app))

CDK runs validation plugins after synthesis, so the pack loads the cloud assembly CDK has
just written with the same loader as `tablesafe check` (raw overrides, suppressions in
Metadata and the analytics props included) and judges every table at once, in Python.
cdk-nag then walks the construct tree; for each DynamoDB L1 the pack asks only for its
construct path (every jsii call is a round trip to Node.js) and applies the rules that
failed there.

`RULE_CLASSES` holds one `IApplyRule` class per rule, generated from the rule's metadata
(id, title, rationale, remediation, severity). The pack hands each the verdict it computed;
used on its own in another `NagPack` (`self._apply_rule(RULE_CLASSES["TS001"](node))`), a
rule class judges the construct itself.

Rule ids are `TableSafety-TS001` ...; a finding on one replica of a global table is
`TableSafety-TS001[eu-west-1]` (cdk-nag's per-finding ids), so each replica is reported
and acknowledged on its own:

    Validations.of(table).acknowledge(Acknowledgment(id="TableSafety-TS003[eu-west-1]", reason="..."))
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

from tablesafe.baseline import compare
from tablesafe.config import Config
from tablesafe.describe import describe_resource
from tablesafe.engine import evaluate
from tablesafe.loader import load_paths
from tablesafe.model import Finding, Rule, Severity
from tablesafe.rules import ALL_RULES
from tablesafe.values import TemplateContext

from ._common import StackFacts, finding_text, identity, load, today_or
from ._resource import TABLE_L1, analytics_props, owner_of, read_tables, resource_type

PACK_NAME = "TableSafety"
LEVELS = {
    Severity.ERROR: NagMessageLevel.ERROR,
    Severity.WARNING: NagMessageLevel.WARN,
    Severity.INFO: NagMessageLevel.INFO,
}


def rule_info(rule: Rule) -> str:
    """The violation's description: cdk-nag groups violations by rule id and shows the first
    description for all of them, so it names the rule, not one table's details."""
    return f"[{rule.id} {rule.slug}] {rule.title}. Fix: {rule.remediation.summary}"


def nag_result(rule: Rule, findings: Iterable[Finding]) -> Any:
    """cdk-nag's verdict for one rule on one table from its unsuppressed findings: the
    failing replica regions of a global table (one finding id each), else NON_COMPLIANT."""
    active = [f for f in findings if f.rule.id == rule.id and not f.suppressed]
    if not active:
        return NagRuleCompliance.COMPLIANT
    regions: list[str] = []
    for finding in active:
        region = finding.replica_region  # set only for per-replica rules on global tables
        if region and region not in regions:
            regions.append(region)
    return regions or NagRuleCompliance.NON_COMPLIANT


def judge_construct(node: cdk.CfnResource, config: Config, today: dt.date) -> list[Finding]:
    """The findings of one DynamoDB L1 read from the construct (without raw overrides, see
    `_resource`): for use before synthesis, when there is no cloud assembly to read."""
    if not isinstance(node, TABLE_L1):
        return []
    stack = cdk.Stack.of(node)
    (read,) = read_tables(stack, [node])
    if isinstance(read, Exception):
        raise read  # inside `rule()`, cdk-nag reports a rule that throws as a violation
    facts = StackFacts(stack)
    owner = owner_of(node)
    props = analytics_props(owner and owner.node) if facts.metadata_flag else None
    described = identity(resource_type(node), facts, read.logical_id, node.node.path, props)
    tables, _ = describe_resource(read.resource, TemplateContext(), described)
    return evaluate(tables, config, today)


@jsii.implements(IApplyRule)
class TableSafetyRule:
    """One tablesafe rule applied to one CfnResource; subclasses in RULE_CLASSES set RULE.

    level: defaults to the rule's severity. result: the verdict when the caller computed it;
    without it, `rule(node)` judges the construct with the default configuration.
    """

    RULE: ClassVar[Rule]

    def __init__(
        self, node: cdk.CfnResource, *, level: NagMessageLevel | None = None, result: Any = None
    ) -> None:
        self._node = node
        self._level = level or LEVELS[self.RULE.severity]
        self._result = result

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    @property
    def info(self) -> str:
        return rule_info(self.RULE)

    @property
    def explanation(self) -> str:
        return f"{self.RULE.rationale} See {self.RULE.help_url}"

    @property
    def level(self) -> NagMessageLevel:
        return self._level

    @property
    def rule_suffix_override(self) -> str:
        return self.RULE.id

    def rule(self, node: cdk.CfnResource) -> Any:
        if self._result is None:
            self._result = nag_result(self.RULE, judge_construct(node, Config(), dt.date.today()))
        return self._result


RULE_CLASSES: dict[str, type[TableSafetyRule]] = {
    rule.id: type(
        f"{rule.id}{''.join(part.title() for part in rule.slug.split('-'))}",
        (TableSafetyRule,),
        {"RULE": rule, "__doc__": f"{rule.id} {rule.slug}: {rule.title}."},
    )
    for rule in ALL_RULES
}
"""Rule id -> its IApplyRule class, e.g. RULE_CLASSES["TS001"] is TS001PitrMissing."""


class TableSafetyPack(NagPack):
    """cdk-nag pack `TableSafety`: TS001-TS007 on every DynamoDB table of the app (TS005 and
    TS006 against the lockfile, when there is one: `lock_path` or the nearest
    tablesafe.lock.json; a table that left the app has no construct to report on and is
    told as a warning).

    Levels follow the rules' severities (and the `.tablesafe.yaml` overrides); a finding
    suppressed with `suppress()` or exempted in the config is not reported. A broken
    config raises ValueError here, before synthesis.
    """

    def __init__(
        self,
        scope: Any = None,
        *,
        verbose: bool | None = None,
        config_path: str | None = None,
        lock_path: str | None = None,
        today: dt.date | None = None,
    ) -> None:
        config, errors = load(config_path)
        if errors:
            raise ValueError("tablesafe configuration: " + "; ".join(map(str, errors)))
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        self._config = config
        self._today = today
        self._lock_path = lock_path
        self._by_path: dict[str, list[Finding]] | None = None
        self._told: set[str] = set()

    @property
    def name(self) -> str:
        return PACK_NAME

    def validate(self, context: Any) -> Any:
        """Judge the freshly written assembly, then let cdk-nag walk the tree and report."""
        self._by_path = self._judge_assembly(context.app_construct.outdir)
        try:
            return super().validate(context)
        finally:
            self._by_path = None

    def _judge_assembly(self, outdir: str) -> dict[str, list[Finding]]:
        loaded = load_paths([outdir])
        if loaded.tables:
            compare(loaded, [outdir], None, self._lock_path, Path.cwd())
        findings = evaluate(loaded.tables, self._config, today_or(self._today), loaded.changes)
        removed = {id(change.old) for change in loaded.changes if change.new is None}
        notes = [str(error) for error in loaded.errors]
        notes += [n.message for n in loaded.notices if n.rule_id not in self._config.disabled]
        notes += [finding_text(f) for f in findings if id(f.table) in removed and not f.suppressed]
        for note in notes:
            if note not in self._told:  # once per pack: cdk-nag has no channel for notes
                self._told.add(note)
                warnings.warn(f"[tablesafe] {note}", stacklevel=2)
        by_path: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            if finding.table.construct_path and id(finding.table) not in removed:
                by_path[finding.table.construct_path].append(finding)
        return by_path

    def _check_resource(self, node: cdk.CfnResource) -> None:
        if not isinstance(node, TABLE_L1):
            return
        if self._by_path is not None:
            findings = self._by_path.get(node.node.path, [])
        else:  # `validate_scope` called directly, before there is a cloud assembly
            findings = judge_construct(node, self._config, today_or(self._today))
        failing = {f.rule.id: f.severity for f in findings if not f.suppressed}
        for rule_id, severity in failing.items():  # only failing rules: each costs jsii round trips
            rule_class = RULE_CLASSES[rule_id]
            result = nag_result(rule_class.RULE, findings)
            self._apply_rule(rule_class(node, level=LEVELS[severity], result=result))
