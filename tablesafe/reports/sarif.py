"""SARIF 2.1.0 as GitHub code scanning reads it, written as plain dicts to stay dependency-free."""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from tablesafe.model import Finding, Report, Rule, Severity, TableDescription
from tablesafe.remediation import of_finding, of_rule

from ._common import all_rules, fix_markdown, fix_text, relative_path, stack_of, subject

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/tablesafe/tablesafe"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SECURITY_SEVERITY = {Severity.ERROR: "8.0", Severity.WARNING: "5.0", Severity.INFO: "2.0"}
TAGS = ("dynamodb", "data-loss", "security")
"""GitHub only ranks a rule by security-severity when it carries the "security" tag."""


def _artifact(path: str) -> dict[str, str]:
    """An artifactLocation whose URI is relative to the current directory when it can be."""
    relative = relative_path(path)
    if PurePath(relative).is_absolute():
        return {"uri": PurePath(relative).as_uri()}
    return {"uri": quote(relative, errors="surrogateescape")}  # a file name's undecodable bytes


def fingerprint(finding: Finding) -> str:
    """Stable across runs and checkouts: no line numbers, paths only when there is no stack."""
    table = finding.table
    resource = table.logical_id or table.construct_path or table.table_arn or table.table_name
    key = "\0".join(
        part or "" for part in (finding.rule.id, stack_of(table), resource, finding.replica_region)
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": fix_text(of_rule(rule)),
            "markdown": fix_markdown(of_rule(rule)),
        },
        "helpUri": rule.help_url,
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": list(TAGS),
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "controls": list(rule.controls),
        },
    }


def _location(table: TableDescription, line: int | None) -> dict[str, Any] | None:
    location: dict[str, Any] = {}
    if table.file:
        location["physicalLocation"] = {
            "artifactLocation": _artifact(table.file),
            "region": {"startLine": line or table.line or 1},
        }
    name = table.logical_id or table.table_name
    if name:
        logical: dict[str, str] = {"name": name, "kind": "resource"}
        qualified = table.construct_path or table.table_arn
        if qualified:
            logical["fullyQualifiedName"] = qualified
        location["logicalLocations"] = [logical]
    return location or None


def _suppression(finding: Finding) -> dict[str, str]:
    """inSource for template Metadata waivers; external for config-file exemptions."""
    in_source = any(
        s.rule_id == finding.rule.id and s.origin == "metadata" for s in finding.table.suppressions
    )
    suppression = {"kind": "inSource" if in_source else "external"}
    if finding.suppression_reason:
        suppression["justification"] = finding.suppression_reason
    return suppression


def _result(finding: Finding, index: int) -> dict[str, Any]:
    rule = finding.rule
    result: dict[str, Any] = {
        "ruleId": rule.id,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {
            "text": f"{subject(finding.table, rule)}: {finding.message} Fix: {of_finding(finding).summary}"
        },
        "partialFingerprints": {"tablesafe/v1": fingerprint(finding)},
    }
    location = _location(finding.table, finding.line)
    if location:
        result["locations"] = [location]
    if finding.suppressed:
        result["suppressions"] = [_suppression(finding)]
    return result


def _notifications(report: Report) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = [
        {
            "level": "error",
            "message": {"text": error.problem},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(error.path)}}],
        }
        for error in report.errors
    ]
    notes += [
        {"level": LEVEL[notice.level], "message": {"text": notice.message}} for notice in report.notices
    ]
    return notes


def render_sarif(report: Report, *, tool_version: str) -> str:
    rules = all_rules(report)
    index = {rule.id: i for i, rule in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "tablesafe",
                "version": tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(rule) for rule in rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": _notifications(report),
            }
        ],
        "results": [_result(f, index[f.rule.id]) for f in report.findings],
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"
