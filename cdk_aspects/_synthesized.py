"""Judging the templates CDK has just synthesized: what the validator and the cdk-nag pack share.

CDK hands a policy-validation plugin the paths of the stack templates it validates, not the
assembly. The assembly is the directory that holds them: its `manifest.json` and stack
metadata give the construct paths, the nested stacks and the analytics props (TS002), so
the templates are read with the same loader as `tablesafe check cdk.out`, compared with
the same lockfile and judged by the same engine. No jsii call is made per construct.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk

from tablesafe import neutralize
from tablesafe.baseline import compare
from tablesafe.config import Config
from tablesafe.engine import evaluate
from tablesafe.loader import load_paths
from tablesafe.model import Finding, InputError
from tablesafe.remediation import of_finding
from tablesafe.reports._common import fix_text

from ._common import finding_description

PACK_NAME = "TableSafety"
"""The cdk-nag pack's name: its rule ids are `TableSafety-TS001` ..."""
PACKED_APPS: set[str] = set()
"""The apps (jsii references) a TableSafetyPack was created for: a TableSafetyValidator
in the same app leaves the findings to the pack, so the pair reports each finding once."""


@dataclass(slots=True)
class Judgement:
    """The verdicts on one synthesis."""

    findings: list[Finding] = field(default_factory=list)
    """On the tables of the templates, suppressed ones included."""
    gone: list[Finding] = field(default_factory=list)
    """On locked tables that left the app: no template or construct holds them any more."""
    errors: list[InputError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def assembly_inputs(template_paths: Iterable[str]) -> list[str]:
    """What to load for these templates: the outermost assembly directories that hold them
    (a Stage's assembly lies inside its parent's and is read with it), and any template
    that lies in no assembly."""
    files = [Path(path).resolve() for path in template_paths]
    assemblies = {file.parent for file in files if (file.parent / "manifest.json").is_file()}
    outermost = sorted(d for d in assemblies if not any(parent in assemblies for parent in d.parents))
    loose = [file for file in files if file.parent not in assemblies]
    return [str(path) for path in (*outermost, *loose)]


def judge_synthesized(
    template_paths: Iterable[str], config: Config, lock_path: str | None, today: dt.date
) -> Judgement:
    """The templates judged as `tablesafe check` judges their assembly (the lockfile too,
    when there is one and the templates hold tables)."""
    inputs = assembly_inputs(template_paths)
    loaded = load_paths(inputs)
    if loaded.tables:
        compare(loaded, inputs, None, lock_path, Path.cwd())
    findings = evaluate(loaded.tables, config, today, loaded.changes)
    gone = {id(change.old) for change in loaded.changes if change.new is None}
    return Judgement(
        findings=[f for f in findings if id(f.table) not in gone],
        gone=[f for f in findings if id(f.table) in gone],
        errors=loaded.errors,
        notices=[n.message for n in (*config.notices(), *loaded.notices) if n.rule_id not in config.disabled],
    )


def warn_once(told: set[str], note: str) -> None:
    """A note that has no place in a validation report (e.g. the metadata flag is off), as a
    Python warning, once per plugin: `cdk synth` shows the app's stderr."""
    if note not in told:
        told.add(note)
        warnings.warn(f"[tablesafe] {neutralize.text(note)}", stacklevel=3)


def violation(
    finding: Finding, rule_name: str, resources: list[cdk.PolicyViolatingResource], *, verbose: bool = False
) -> cdk.PolicyViolation:
    """One finding as a violation of the validation report: the full message (table,
    replica region) as the description, this table's fix (summary and code in the app's
    language) as the fix."""
    description = finding_description(finding)
    if verbose:
        description += f" {finding.rule.rationale}"
    return cdk.PolicyViolation(
        rule_name=rule_name,
        description=neutralize.text(description),
        fix=fix_text(of_finding(finding)),
        severity=finding.severity.value,
        violating_resources=resources,
    )


def template_resource(finding: Finding) -> list[cdk.PolicyViolatingResource]:
    """The template and logical ID of a finding's table (CDK derives the construct path)."""
    table = finding.table
    if table.logical_id is None or table.file is None:
        return []
    return [
        cdk.PolicyViolatingResource(
            locations=[], resource_logical_id=table.logical_id, template_path=table.file
        )
    ]


def removed_resource(finding: Finding) -> list[cdk.PolicyViolatingResource]:
    """A locked table that left the app, by the construct path it had (CDK leaves a
    violation without a resource out of its report)."""
    return [cdk.PolicyViolatingResource(construct_path=finding.table.construct_path or "", locations=[])]


def input_violation(error: InputError) -> cdk.PolicyViolation:
    """An input that could not be read (a template, the lockfile): the synth must not pass."""
    return cdk.PolicyViolation(
        rule_name="input-error",
        description=neutralize.text(str(error)),
        severity="error",
        violating_resources=[cdk.PolicyViolatingResource(construct_path="", locations=[])],
    )
