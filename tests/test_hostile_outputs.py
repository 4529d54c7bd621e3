"""Hostile values never inject: strings an attacker controls (a template and its assembly in
a pull request, an answer of an AWS endpoint) reach every output format, and each format
stays what it claims to be: JSON parses, SARIF validates, JUnit parses, text and stderr hold
no control character and one error per line, Markdown holds no HTML, link or code span that
came from the data, HTML no markup from the data, and a pasted runbook runs only its commands.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import load_helper, reset_moto
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from junitparser import JUnitXml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tablesafe import neutralize
from tablesafe.cli import main
from tablesafe.config import Config
from tablesafe.model import Report
from tablesafe.reports import FORMATS, render

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
SARIF = jsonschema.validators.validator_for(SARIF_SCHEMA)(SARIF_SCHEMA)
MARKER = "pwned"
"""The file every injected shell command tries to create (relative: in the run's directory)."""

PIECES = [
    "\x1b[2J",  # clear screen
    "\x1b]0;title\x07",  # window title
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\r\n::error::injected",  # GitHub Actions workflow command
    "::warning file=x::y",
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x7f",
    "\x85",  # NEL (C1)
    "\u2028",
    "\u202e",  # right-to-left override
    "`",
    "```",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "![i](https://evil.example/i.png)",
    "https://evil.example/",
    "www.evil.example",
    "<https://evil.example>",
    "&lt;b&gt;",
    "]]>",
    f"$(touch {MARKER})",
    f"`touch {MARKER}`",
    f";touch {MARKER};",
    f"';touch {MARKER};'",
    f'";touch {MARKER};"',
    f"\ntouch {MARKER}\n",
    "${IFS}",
    "|",
    "\\",
    "'",
    '"',
    "# heading",
    "- item",
    "*",
    "_",
    "{{ 7*7 }}",
]
_PIECE = st.sampled_from(PIECES)
HOSTILE = st.one_of(
    st.lists(st.one_of(_PIECE, _PIECE, st.text(max_size=4)), min_size=1, max_size=6)
    .map("".join)
    .filter(str.strip),  # a blank name is no name: the outputs say "none" instead
    st.sampled_from(["A" * 2000 + "`" * 40 + "<b>" * 20, ("\x1b[31m" + "x" * 50) * 20]),
)
"""Hostile strings: the pieces above mixed with random text, and a few very long ones."""


def examples(count: int) -> settings:
    """count examples, no deadline: each runs the CLI, the audit or bash."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking long strings takes minutes
    )


# --- the oracles ----------------------------------------------------------------------------


_BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


def unsafe_for_terminal(char: str) -> bool:
    """Control characters (C0, C1, DEL), line and paragraph separators, lone surrogates and
    bidirectional overrides: what can style a terminal, move its cursor or start a line."""
    return (
        unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")
        or unicodedata.bidirectional(char) in _BIDI_CONTROLS
    )


def assert_terminal_safe(text: str) -> None:
    """Text for a terminal or a CI log: no unsafe character but the line breaks tablesafe
    writes, no line a runner would take for a workflow command, and encodable as UTF-8."""
    assert not [char for char in text if char != "\n" and unsafe_for_terminal(char)], text[:2000]
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
    text.encode("utf-8")


def assert_stderr(stderr: str, errors: int) -> None:
    """One line per message, each tablesafe's own, and exactly one per input error."""
    assert_terminal_safe(stderr)
    lines = stderr.splitlines()
    assert all(line.startswith("tablesafe: ") for line in lines), lines
    assert sum(line.startswith("tablesafe: error: ") for line in lines) == errors


def _tokens(tokens: Iterable[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _tokens(token.children or ())


_MARKDOWN = MarkdownIt("gfm-like", {"html": True, "linkify": True})
"""CommonMark with GFM tables, strikethrough and bare-URL links, and raw HTML recognized."""
REPO = Path(__file__).resolve().parent.parent
TABLESAFE_LINKS = {
    url
    for source in [*(REPO / "rules").glob("*.py"), *(REPO / "tablesafe").rglob("*.py")]
    for url in re.findall(r"https?://[^\s\"'`)<>]+", source.read_text(encoding="utf-8"))
}
"""The links tablesafe writes itself: those in its own code (the rules' fixes and help)."""
TABLESAFE_HTML = re.compile(r"<details><summary>[^<>]*</summary>|</details>")


def assert_markdown_safe(markdown: str, code_values: Iterable[str] = ()) -> None:
    """No HTML but tablesafe's <details>, no link or image but the rules' own, and every
    value meant to be a code span is one, whole: no backtick in it closed its span early."""
    tokens = list(_tokens(_MARKDOWN.parse(markdown)))
    html = [t.content.strip() for t in tokens if t.type in ("html_block", "html_inline")]
    assert all(TABLESAFE_HTML.fullmatch(block) for block in html), html
    assert not [t for t in tokens if t.type == "image"]
    links = [t.attrs["href"] for t in tokens if t.type == "link_open"]
    assert all(any(url.startswith(href) for url in TABLESAFE_LINKS) for href in links), links
    spans = [t.content for t in tokens if t.type == "code_inline"]
    for value in code_values:
        span = neutralize.markdown_code(value)
        fence = len(span) - len(span.lstrip("`"))
        shown = span[fence:-fence]
        if shown.startswith(" ") and shown.endswith(" ") and shown.strip(" "):
            shown = shown[1:-1]  # CommonMark strips one space of padding from each side
        assert any(shown in content for content in spans), (value, spans)
    markdown.encode("utf-8")


_HTML_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "b", "table",
    "thead", "tbody", "tr", "th", "td", "a", "span", "br", "ul", "ol", "li", "code", "pre", "small",
    "details", "summary", "em", "strong", "hr", "blockquote",
}  # fmt: skip
_HTML_ATTRIBUTES = {"lang", "charset", "name", "content", "class", "title", "href", "style", "id", "open"}
REPORT_LINKS = re.compile(r"tables/[^:]+|#table-[0-9]+")
"""The report links to the runbooks tablesafe wrote, and to each table's findings."""
RUNBOOK_PAGE_LINKS = re.compile(r"(\.\./)+report\.html|[^/:]+\.md")
"""A runbook page links back to the report, and to its Markdown beside it."""


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_html_safe(page: str, links: re.Pattern[str] = REPORT_LINKS) -> None:
    """Only the page's own elements and attributes; links are tablesafe's relative paths."""
    parser = _Markup()
    parser.feed(page)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in _HTML_TAGS, tag
        assert {name for name, _ in attrs} <= _HTML_ATTRIBUTES, attrs
        if tag == "a":
            href = dict(attrs)["href"] or ""
            assert links.fullmatch(href), href
    assert not [char for char in page if unicodedata.category(char) == "Cs"]
    page.encode("utf-8")


def assert_report_formats(report: Report) -> None:
    """Every format of one report, checked by its consumer's parser."""
    outputs = {fmt: render(report, fmt, tool_version="0.0.0") for fmt in FORMATS}
    assert json.loads(outputs["json"])["summary"] == report.summary()
    assert not list(SARIF.iter_errors(json.loads(outputs["sarif"])))
    ET.fromstring(outputs["junit"].encode("utf-8"))
    JUnitXml.fromstring(outputs["junit"].encode("utf-8"))
    assert_terminal_safe(outputs["text"])
    assert_markdown_safe(outputs["markdown"])


# --- through `tablesafe check` -----------------------------------------------------------


FILE_NAMES = HOSTILE.map(lambda name: re.sub("[/\x00]", "_", name)[:120] or "_").filter(
    lambda name: name not in (".", "..")
)


def _assembly(directory: Path, stack: str, path: str, reason: str, parameter: str) -> None:
    """A cloud assembly whose stack name, construct path, suppression reason and parameter
    name are hostile (the logical ID is valid: CloudFormation would refuse another)."""
    directory.mkdir()
    table = {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Delete",
        "Metadata": {
            "aws:cdk:path": path,
            "tablesafe": {"suppress": [{"id": "TS003", "reason": f"reason is {reason}"}]},
        },
        "Properties": {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": {"Ref": parameter}},
        },
    }
    template = {"Parameters": {parameter: {"Type": "String"}}, "Resources": {"OrdersA9B65338": table}}
    (directory / "Svc.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "36.0.0",
        "artifacts": {
            "Svc": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": "Svc.template.json", "stackName": stack},
            }
        },
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))


def _run(*args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(args))
    return code, stdout.getvalue(), stderr.getvalue()


@examples(8)
@given(
    stack=HOSTILE,
    path=HOSTILE,
    reason=HOSTILE,
    parameter=HOSTILE,
    logical_id=HOSTILE,
    condition=HOSTILE,
    file_name=FILE_NAMES,
)
def test_check_outputs_hold_hostile_templates(
    monkeypatch: pytest.MonkeyPatch,
    stack: str,
    path: str,
    reason: str,
    parameter: str,
    logical_id: str,
    condition: str,
    file_name: str,
) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        monkeypatch.chdir(root)  # no configuration or lockfile of the work tree applies
        _assembly(root / "cdk.out", stack, path, reason, parameter)
        bare = root / f"{file_name}.json"
        table = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"DeletionProtectionEnabled": {"Fn::If": [condition, True, False]}},
        }
        bare.write_text(json.dumps({"Resources": {logical_id: table}}))
        broken = root / f"{file_name}.broken.json"
        broken.write_text('{"Resources": ' + json.dumps(condition))
        inputs = [str(root / "cdk.out"), str(bare), str(broken)]

        code, text, stderr = _run("check", *inputs)
        assert code == 2 and stderr == ""  # a text report to the terminal holds the errors
        assert_terminal_safe(text)
        written = {}
        for fmt in ("json", "sarif", "junit", "markdown"):
            output = root / f"report.{fmt}"
            code, stdout, stderr = _run("check", *inputs, "--format", fmt, "--output", str(output))
            assert code == 2 and stdout == ""
            written[fmt] = (output.read_text(encoding="utf-8"), stderr)
        report = json.loads(written["json"][0])
        assert stack in {finding["stack"] for finding in report["findings"]}
        assert len(report["errors"]) >= 1
        for _, stderr in written.values():
            assert_stderr(stderr, errors=len(report["errors"]))
        assert not list(SARIF.iter_errors(json.loads(written["sarif"][0])))
        ET.fromstring(written["junit"][0].encode("utf-8"))
        JUnitXml.fromstring(written["junit"][0].encode("utf-8"))
        paths = [finding["construct_path"] for finding in report["findings"] if finding["construct_path"]]
        assert_markdown_safe(written["markdown"][0], code_values=paths)


# --- through the audit (a moto server behind a rewriting proxy) ----------------------------

audit_helpers = load_helper("audit_helpers.py")
HOME = audit_helpers.HOME


def _hostile_answers(name: str, arn: str, key: str, attribute: str, tags: dict[str, str], stack: str) -> Any:
    """A proxy rewrite: table "described" gets a hostile ARN, KMS key and key attribute, table
    "tagged" hostile tags and owning stack, and ListTables names a table no API accepts."""

    def rewrite(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "ListTables":
            answer["TableNames"] = [*answer.get("TableNames", []), name]
        elif call.operation == "DescribeTable" and call.table == "described":
            table = answer["Table"]
            table["TableArn"] = arn
            table["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
            table["KeySchema"] = [{"AttributeName": attribute, "KeyType": "HASH"}]
            table["AttributeDefinitions"] = [{"AttributeName": attribute, "AttributeType": "S"}]
        elif call.operation == "ListTagsOfResource" and call.table == "tagged":
            answer["Tags"] = [
                *({"Key": k, "Value": v} for k, v in tags.items()),
                {"Key": "aws:cloudformation:stack-name", "Value": stack},
                {"Key": "aws:cloudformation:logical-id", "Value": "Tagged"},
            ]

    return rewrite


@examples(5)
@given(
    name=HOSTILE.map(lambda value: f"t-{value}"[:200]),
    arn=HOSTILE,
    key=HOSTILE,
    attribute=HOSTILE,
    tags=st.dictionaries(HOSTILE, HOSTILE, min_size=1, max_size=3),
    stack=HOSTILE,
)
def test_audit_outputs_hold_hostile_api_answers(
    moto_server: str,
    proxy: Any,
    name: str,
    arn: str,
    key: str,
    attribute: str,
    tags: dict[str, str],
    stack: str,
) -> None:
    from tablesafe.scanner.audit import AuditOptions, run_audit
    from tablesafe.scanner.history import write_run

    reset_moto(moto_server)
    proxy.reset()
    audit_helpers.create_table(moto_server, "described")
    audit_helpers.create_table(moto_server, "tagged")
    proxy.rewrites.append(_hostile_answers(name, arn, key, attribute, tags, stack))
    result = run_audit(
        AuditOptions(regions=HOME, endpoint_url=proxy.url, concurrency=2), Config(), progress=False
    )
    assert_report_formats(result.report)
    with tempfile.TemporaryDirectory() as work:
        write_run(Path(work), result.report, result.records, tool_version="0.0.0", previous=None)
        assert_html_safe((Path(work) / "report.html").read_text(encoding="utf-8"))
        for page in (Path(work) / "tables").rglob("*.html"):
            assert_html_safe(page.read_text(encoding="utf-8"), RUNBOOK_PAGE_LINKS)
        runbooks = {path.stem: path.read_text(encoding="utf-8") for path in Path(work).rglob("*.md")}
    assert len(runbooks) == 3
    for text in runbooks.values():
        assert_markdown_safe(text)
    described = next(text for stem, text in runbooks.items() if stem.startswith("described"))
    assert_markdown_safe(described, code_values=[arn, key, attribute])
    tagged = next(text for stem, text in runbooks.items() if stem.startswith("tagged"))
    assert_markdown_safe(tagged, code_values=[stack, *(f"{k}={v}" for k, v in tags.items())])


# --- pasting a runbook into bash --------------------------------------------------------------

STUB = """#!/bin/bash
# Records each call's arguments, NUL-separated, one file per call; prints a plausible ARN.
printf '%s\\0' "$@" > "$STUB_CALLS/$(date +%s%N)-$RANDOM"
echo "arn:aws:dynamodb:us-east-1:123456789012:table/t/export/01700000000000-abcdef12"
"""
SHELL_VALUES = HOSTILE.map(lambda value: value.replace("\x00", "")[:300]).filter(bool)
"""Values bash can hold (no NUL), of a length a command line takes."""


def _blueprint(name: str, region: str, arn: str, key: str, tag: str, stack: str) -> dict[str, Any]:
    """A blueprint that takes every route of the runbook (PITR off, an LSI, KMS, a replica, a
    stack) with hostile values wherever the runbook interpolates one."""
    from tablesafe.scanner.blueprint import blueprint
    from tablesafe.scanner.records import OwningStack, ReadProblem, TableRecord

    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    describe = {
        "TableName": name,
        "TableArn": arn,
        "TableStatus": "ACTIVE",
        "KeySchema": keys,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": tag,
                "KeySchema": [keys[0], {"AttributeName": "at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key},
        "Replicas": [{"RegionName": region}, {"RegionName": f"{region}-2"}],
        "ItemCount": 1,
    }
    record = TableRecord(
        account=tag,
        region=region,
        name=name,
        arn=arn,
        describe=describe,
        continuous_backups={"PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}},
        time_to_live={"TimeToLiveStatus": "ENABLED", "AttributeName": tag},
        tags=[{"Key": tag, "Value": tag}],
        stack=OwningStack(stack, tag, "Delete", "Delete", tag, "tags"),
        stack_known=True,
        problems=[ReadProblem("DescribeTimeToLive", tag, region)],
    )
    return blueprint(record)


def _commands(runbook: str) -> list[str]:
    """What a reader pastes: every bash block, and every inline command in the prose."""
    tokens = list(_tokens(_MARKDOWN.parse(runbook)))
    blocks = [t.content for t in tokens if t.type == "fence" and t.info == "bash"]
    inline = [t.content for t in tokens if t.type == "code_inline" and t.content.startswith("aws ")]
    return blocks + inline


def _calls(directory: Path) -> list[list[str]]:
    return [path.read_bytes().decode("utf-8").split("\0")[:-1] for path in sorted(directory.iterdir())]


@examples(6)
@given(
    name=SHELL_VALUES,
    region=SHELL_VALUES,
    arn=SHELL_VALUES,
    key=SHELL_VALUES,
    tag=SHELL_VALUES,
    stack=SHELL_VALUES,
)
def test_pasted_runbook_commands_run_only_themselves(
    tmp_path: Path, name: str, region: str, arn: str, key: str, tag: str, stack: str
) -> None:
    from tablesafe.scanner.runbook import render_runbook

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws").write_text(STUB)
    (bin_dir / "aws").chmod(0o755)
    runbook = render_runbook(_blueprint(name, region, arn, key, tag, stack))
    commands = _commands(runbook)
    assert len(commands) >= 10
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as calls:
        for command in commands:
            subprocess.run(
                ["bash"],
                input=command.encode("utf-8"),
                cwd=work,
                env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STUB_CALLS": calls},
                capture_output=True,
                timeout=30,
                check=False,
            )
            assert not (Path(work) / MARKER).exists(), command
        received = _calls(Path(calls))
    expected = {
        "--table-name": {name, f"{name}-restored", f"{name}-imported"},
        "--source-table-name": {name},
        "--target-table-name": {f"{name}-restored"},
        "--backup-name": {f"{name}-final"},
        "--region": {region, f"{region}-2"},
        "--resource-arn": {arn},
        "--table-arn": {arn},
        "--key-id": {key},
        "--dimensions": {f"Name=TableName,Value={name}"},
    }
    seen = set()
    for argv in received:
        for option, value in pairwise(argv):
            if option in expected:
                assert value in expected[option], (option, value, argv)
                seen.add(option)
    assert seen == set(expected)
