"""JUnit XML for CI test tabs: every (table, rule) pair is a test case, so passes show too.

render() imports this module only for --format junit, which keeps junitparser off the fast path.
Every text and attribute passes through neutralize.markup before the document is written:
ElementTree writes characters XML cannot hold, and junitparser's pretty printer then fails.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from tablesafe import neutralize
from tablesafe.model import Finding, Report, Rule, TableDescription
from tablesafe.remediation import of_finding

from ._common import all_rules, fix_text, group_by_stack, subject

INPUTS_SUITE = "tablesafe inputs"
NOTICES_SUITE = "tablesafe notices"
"""Each notice (a rule switched off by the configuration, a rule that could not run) as a
skipped case: what a CI test tab shows without opening the log."""


@dataclass
class _Case:
    """One (table, rule) pair and the findings that judged it."""

    table: TableDescription
    rule: Rule
    findings: list[Finding] = field(default_factory=list)


def _pair_key(table: TableDescription, rule: Rule) -> tuple[object, ...]:
    """Per-resource rules are judged once for all replicas; others per description object."""
    if rule.per_resource:
        return ("resource", table.resource_key, rule.id)
    return ("table", id(table), rule.id)


def _cases(report: Report) -> list[_Case]:
    """Every table x rule pair, plus pairs only findings know (e.g. a table that was removed)."""
    cases: dict[tuple[object, ...], _Case] = {}
    rules = all_rules(report)
    for table in report.tables:
        for rule in rules:
            cases.setdefault(_pair_key(table, rule), _Case(table, rule))
    for finding in report.findings:
        key = _pair_key(finding.table, finding.rule)
        cases.setdefault(key, _Case(finding.table, finding.rule)).findings.append(finding)
    return list(cases.values())


def _testcase(case: _Case, classname: str) -> TestCase:
    rule = case.rule
    testcase = TestCase(f"{rule.id} {rule.slug}: {subject(case.table, rule)}", classname)
    failing = [f for f in case.findings if not f.suppressed]
    if failing:
        failure = Failure("; ".join(f.message for f in failing), failing[0].severity.value)
        messages = "\n".join(f.message for f in failing)
        failure.text = f"{messages}\n\n{fix_text(of_finding(failing[0]))}"
        testcase.result = [failure]
    elif case.findings:
        reasons = [f.suppression_reason or "suppressed" for f in case.findings]
        testcase.result = [Skipped("; ".join(dict.fromkeys(reasons)))]
    return testcase


def _neutralize(xml: JUnitXml) -> None:
    """Every text and attribute value of the document made writable as XML, in one pass over
    the ElementTree that junitparser wraps (its own writer reads the same ``_elem``)."""
    for element in xml._elem.iter():
        if element.text:
            element.text = neutralize.markup(element.text)
        for name, value in list(element.attrib.items()):
            element.set(name, neutralize.markup(value))


def _listing(name: str, entries: list[tuple[str, Error | Skipped]]) -> TestSuite:
    """A suite of what is not a (table, rule) pair: (case name, its result) each."""
    suite = TestSuite(name)
    for case_name, result in entries:
        testcase = TestCase(case_name, name)
        testcase.result = [result]
        suite.add_testcase(testcase)
    return suite


def render_junit(report: Report) -> str:
    xml = JUnitXml("tablesafe")
    for stack, cases in group_by_stack(_cases(report), lambda c: c.table).items():
        suite = TestSuite(stack)
        suite.add_testcases([_testcase(case, stack) for case in cases])
        xml.add_testsuite(suite)
    if report.errors:
        errors = [(error.path, Error(error.problem, "InputError")) for error in report.errors]
        xml.add_testsuite(_listing(INPUTS_SUITE, errors))
    if report.notices:
        notices = [(n.message, Skipped(n.message, n.level.value)) for n in report.notices]
        xml.add_testsuite(_listing(NOTICES_SUITE, notices))
    xml.update_statistics()
    _neutralize(xml)
    out = io.BytesIO()
    xml.write(out, pretty=True)
    return out.getvalue().decode("utf-8")
