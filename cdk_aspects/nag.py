"""`TableSafetyPack`: the tablesafe rules as a cdk-nag 3.x pack (a CDK policy-validation plugin).

    Validations.of(app).add_plugins(TableSafetyPack(app))

For teams that already run cdk-nag; others use `TableSafetyValidator`. Registered in the same
app, the validator leaves the findings to the pack, so each is reported once. CDK runs
validation plugins after synthesis, so the pack judges the templates CDK hands it like the
validator does (`_synthesized`: the loader, lockfile and engine of `tablesafe check`; raw
overrides, suppressions in Metadata and the analytics props included), and reports in
cdk-nag's terms: rule ids `TableSafety-TS001` ..., a finding on one replica of a global
table as `TableSafety-TS001[eu-west-1]` (cdk-nag's per-finding ids), the construct path of
the table, and cdk-nag's acknowledgments, read from the assembly's metadata rather than by
walking the construct tree (every jsii call is a round trip):

    Validations.of(table).acknowledge(Acknowledgment(id="TableSafety-TS003[eu-west-1]", reason="..."))

`RULE_CLASSES` holds one `IApplyRule` class per rule, generated from the rule's metadata
(id, title, rationale, remediation, severity). Used in another `NagPack`
(`self._apply_rule(RULE_CLASSES["TS001"](node))`), or through `validate_scope` before there
is a cloud assembly, a rule class judges the construct itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

from tablesafe.config import Config
from tablesafe.describe import describe_resource
from tablesafe.engine import evaluate
from tablesafe.loader import InputProblem, read_text
from tablesafe.model import Finding, Rule, Severity
from tablesafe.rules import ALL_RULES
from tablesafe.values import TemplateContext

from ._common import StackFacts, finding_description, identity, load, today_or
from ._resource import TABLE_L1, analytics_props, owner_of, read_tables, ref, resource_type
from ._synthesized import PACK_NAME, PACKED_APPS, assembly_inputs, judge_synthesized, violation, warn_once

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"
_ANNOTATION = re.compile(r"^annotation::", re.IGNORECASE)
LEVELS = {
    Severity.ERROR: NagMessageLevel.ERROR,
    Severity.WARNING: NagMessageLevel.WARN,
    Severity.INFO: NagMessageLevel.INFO,
}


def rule_info(rule: Rule) -> str:
    """The violation's description: cdk-nag groups violations by rule id and shows the first
    description for all of them, so it names the rule, not one table's details."""
    return f"[{rule.id} {rule.slug}] {rule.title}. The fix for each table: tablesafe rules {rule.id}"


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
        if scope is not None:
            PACKED_APPS.add(ref(scope.node.root))
        self._pack_name = PACK_NAME
        self._config = config
        self._today = today
        self._lock_path = lock_path
        self._verbose = bool(verbose)
        self._told: set[str] = set()

    @property
    def name(self) -> str:
        return PACK_NAME

    def validate(self, context: Any) -> Any:
        """Judge the templates CDK has just written; cdk-nag's walk of the construct tree
        (a call into Python per resource) is only for `validate_scope`."""
        template_paths = context.template_paths
        judgement = judge_synthesized(template_paths, self._config, self._lock_path, today_or(self._today))
        for note in [*judgement.notices, *map(str, judgement.errors)]:
            warn_once(self._told, note)
        for finding in judgement.gone:
            if not finding.suppressed:  # no construct to report on: told, as cdk-nag has no channel
                warn_once(self._told, finding_description(finding))
        acknowledged = acknowledged_rules(assembly_inputs(template_paths))
        violations = []
        for finding in judgement.findings:
            rule_id = nag_rule_id(finding)
            path = finding.table.construct_path
            if finding.suppressed or path is None or is_acknowledged(acknowledged, path, rule_id):
                continue
            resource = cdk.PolicyViolatingResource(construct_path=path, locations=["Properties"])
            violations.append(violation(finding, rule_id, [resource], verbose=self._verbose))
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)

    def _check_resource(self, node: cdk.CfnResource) -> None:
        """cdk-nag's walk, from `validate_scope` (no cloud assembly yet): judge the construct."""
        if not isinstance(node, TABLE_L1):
            return
        findings = judge_construct(node, self._config, today_or(self._today))
        failing = {f.rule.id: f.severity for f in findings if not f.suppressed}
        for rule_id, severity in failing.items():  # only failing rules: each costs jsii round trips
            rule_class = RULE_CLASSES[rule_id]
            result = nag_result(rule_class.RULE, findings)
            self._apply_rule(rule_class(node, level=LEVELS[severity], result=result))


def nag_rule_id(finding: Finding) -> str:
    """cdk-nag's id of one finding: `TableSafety-TS003`, `TableSafety-TS003[eu-west-1]` for a replica."""
    rule_id = f"{PACK_NAME}-{finding.rule.id}"
    return f"{rule_id}[{finding.replica_region}]" if finding.replica_region else rule_id


def acknowledged_rules(assemblies: Iterable[str]) -> dict[str, set[str]]:
    """Construct path -> the ids acknowledged there with `Validations.of(c).acknowledge`,
    from the stack metadata of the assemblies (stages included); the `Annotation::` prefix
    that aws-cdk-lib adds is dropped, as cdk-nag does."""
    found: dict[str, set[str]] = defaultdict(set)
    todo = [Path(a) for a in assemblies if Path(a, "manifest.json").is_file()]
    while todo:
        directory = todo.pop()
        artifacts = _json(directory / "manifest.json").get("artifacts", {})
        for artifact in artifacts.values() if isinstance(artifacts, Mapping) else ():
            properties = artifact.get("properties", {}) if isinstance(artifact, Mapping) else {}
            if artifact.get("type") == "cdk:cloud-assembly" and "directoryName" in properties:
                todo.append(directory / properties["directoryName"])
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            metadata = dict(artifact.get("metadata") or {})
            if isinstance(artifact.get("additionalMetadataFile"), str):
                metadata.update(_json(directory / artifact["additionalMetadataFile"]))
            for path, entries in metadata.items():
                for entry in entries if isinstance(entries, list) else ():
                    if isinstance(entry, Mapping) and entry.get("type") == ACKNOWLEDGED:
                        ids = entry.get("data") if isinstance(entry.get("data"), Mapping) else {}
                        found[path.strip("/")] |= {_ANNOTATION.sub("", key) for key in ids}
    return found


def _json(path: Path) -> Mapping[str, Any]:
    """A JSON file CDK wrote; {} when it cannot be read (the loader reports it)."""
    try:
        document = json.loads(read_text(path))
    except (InputProblem, ValueError, RecursionError):
        return {}
    return document if isinstance(document, Mapping) else {}


def is_acknowledged(acknowledged: Mapping[str, set[str]], path: str, rule_id: str) -> bool:
    """Whether rule_id is acknowledged on the construct at path or on one of its scopes."""
    parts = path.split("/")
    return any(rule_id in acknowledged.get("/".join(parts[:end]), ()) for end in range(len(parts), 0, -1))
