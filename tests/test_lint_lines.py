"""lint sees a file's lines as its language does: Python's tokenizer ends a line at \\n,
\\r\\n or a lone \\r; ECMAScript also at U+2028 and U+2029; a form feed ends none. Tables,
line numbers, suppression comments (comment tokens only, never text in a string) and
--fix all follow that one model, whatever line breaks a hostile file mixes."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tablesafe.config import Config
from tablesafe.lint import lint_files
from tablesafe.model import Report
from tablesafe.source.lines import PYTHON_BREAKS, python_lines

RunCli = Callable[..., subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "source"
PYTHON_FIXTURES = ("aliases.py", "clean.py", "l1.py", "nonliteral.py", "replicas.py", "suppressions.py")
TYPESCRIPT_FIXTURES = ("aliases.ts", "clean.ts", "l1.ts", "nonliteral.ts", "suppressions.ts")

TABLES = (
    "from aws_cdk import aws_dynamodb as dynamodb\n"
    "# {comment}\n"
    'dynamodb.Table(self, "One")\n'
    "# tablesafe: ignore[TS001, TS003] the second table is a scratch table\n"
    'dynamodb.Table(self, "Two")\n'
    'dynamodb.Table(self, "Three")\n'
)


def lint_text(tmp_path: Path, name: str, text: str) -> Report:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return lint_files([str(path)], Config())


def verdicts(report: Report) -> set[tuple[str | None, str, str | None, bool, str | None]]:
    return {
        (f.table.construct_path, f.rule.id, f.table.replica_region, f.suppressed, f.suppression_reason)
        for f in report.findings
    }


def lines_of(report: Report) -> dict[str | None, int | None]:
    return {table.construct_path: table.line for table in report.tables}


# --- the cases seen -------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_python_line_ending_finds_every_table(tmp_path: Path, ending: str) -> None:
    report = lint_text(tmp_path, "stack.py", TABLES.format(comment="plain").replace("\n", ending))
    assert {t.construct_path for t in report.tables} == {"One", "Two", "Three"}
    assert lines_of(report) == {"One": 3, "Two": 5, "Three": 6}
    suppressed = {(f.table.construct_path, f.rule.id) for f in report.findings if f.suppressed}
    assert suppressed == {("Two", "TS001"), ("Two", "TS003")}


def test_a_lone_carriage_return_in_a_comment_hides_no_table(tmp_path: Path) -> None:
    """Python ends the comment at the \\r: the rest of that line is code, as CPython runs it."""
    text = TABLES.format(comment="a comment\rx = 1")
    report = lint_text(tmp_path, "stack.py", text)
    plain = lint_text(tmp_path, "plain.py", TABLES.format(comment="a comment"))
    assert verdicts(report) == verdicts(plain) and len(report.findings) == 6
    tree = ast.parse(text)
    calls = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert sorted(lines_of(report).values()) == sorted(calls) == [4, 6, 7]


@pytest.mark.parametrize("separator", ["\f", "\u2028", "\u2029", "\x0b", "\x85", "\x1c"])
def test_characters_splitlines_breaks_at_do_not_move_python_suppressions(
    tmp_path: Path, separator: str
) -> None:
    """Inside a comment these are text to Python: the suppression stays on its table."""
    report = lint_text(tmp_path, "stack.py", TABLES.format(comment=f"before{separator}after"))
    suppressed = {(f.table.construct_path, f.rule.id) for f in report.findings if f.suppressed}
    assert suppressed == {("Two", "TS001"), ("Two", "TS003")}
    assert lines_of(report) == {"One": 3, "Two": 5, "Three": 6}


@pytest.mark.parametrize("separator", ["\r", "\u2028", "\u2029"])
def test_typescript_line_terminators_are_lines(tmp_path: Path, separator: str) -> None:
    """ECMAScript ends a line, and a // comment, at each of these: lines counted as tsc does."""
    text = (
        "import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';\n"
        f"// a comment{separator}const x = 1;\n"
        "new dynamodb.Table(this, 'One', {});\n"
        "// tablesafe: ignore[TS001, TS003] the second table is a scratch table\n"
        f"new dynamodb.Table(this, 'Two', {{}});{separator}new dynamodb.Table(this, 'Three', {{}});\n"
    )
    report = lint_text(tmp_path, "stack.ts", text)
    assert lines_of(report) == {"One": 4, "Two": 6, "Three": 7}
    suppressed = {(f.table.construct_path, f.rule.id) for f in report.findings if f.suppressed}
    assert suppressed == {("Two", "TS001"), ("Two", "TS003")}


def test_typescript_form_feed_is_whitespace(tmp_path: Path) -> None:
    text = (
        "import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';\f\n"
        "// tablesafe: ignore[TS003] the table is rebuilt nightly\f\n"
        "new dynamodb.Table(this, 'One', {});\n"
    )
    report = lint_text(tmp_path, "stack.ts", text)
    assert lines_of(report) == {"One": 3}
    assert {f.rule.id for f in report.findings if f.suppressed} == {"TS003"}


@pytest.mark.parametrize("name", ["suppressions.py", "suppressions.ts"])
def test_suppressions_come_from_comments_never_strings(name: str) -> None:
    report = lint_files([str(FIXTURES / name)], Config())
    suppressed = {
        (f.table.construct_path, f.rule.id): f.suppression_reason for f in report.findings if f.suppressed
    }
    assert suppressed == {
        ("Sessions", "TS003"): "sessions expire after a day anyway",
        ("Next", "TS001"): "rebuilt from the event log nightly",
        ("Late", "TS003"): "turned on by the migration job",
    }
    assert {f.rule.id for f in report.findings if f.table.construct_path == "InString"} == {"TS001", "TS003"}
    assert not report.errors


@pytest.mark.parametrize("name", ["suppressions.py", "suppressions.ts"])
def test_each_ignore_comment_says_it_silences_lint_alone(name: str) -> None:
    """An ignore comment never reaches the template: a warning per comment names suppress();
    one that stands above no call is a notice naming its line."""
    report = lint_files([str(FIXTURES / name)], Config())
    warnings = [n.message for n in report.notices if n.level.value == "warning"]
    assert len(warnings) == 3
    assert all("silences lint only" in w and "suppress()" in w and "tablesafe check" in w for w in warnings)
    nothing = [n.message for n in report.notices if "suppresses nothing" in n.message]
    line = 28 if name.endswith(".py") else 22
    assert nothing == [
        f"{FIXTURES / name}: line {line}: `tablesafe: ignore[TS001]` suppresses nothing: it is neither "
        "on a line of a table's call nor alone on the line above one"
    ]


# --- any line break, anywhere a language allows it ------------------------------------------


def _python_strings(text: str) -> list[tuple[int, int]]:
    """Offsets of the string tokens (where an inserted character changes a value)."""
    model = python_lines(text)
    spans = []
    for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
        if token.type == tokenize.STRING:
            start = model.start(token.start[0]) + token.start[1]
            spans.append((start, model.start(token.end[0]) + token.end[1]))
    return spans


def _python_comment_ends(text: str) -> list[int]:
    model = python_lines(text)
    return [
        model.start(token.end[0]) + token.end[1]
        for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline)
        if token.type == tokenize.COMMENT
    ]


def _typescript_spans(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Character offsets of strings and templates, and the ends of comments."""
    from tree_sitter import Node

    from tablesafe.source.typescript_cdk import _grammar

    source = text.encode()
    tree = _grammar(False)[0].parse(source)
    offset = {len(source[:i].decode()): i for i in range(len(source) + 1)}
    to_char = {byte: char for char, byte in offset.items()}
    strings: list[tuple[int, int]] = []
    comment_ends: list[int] = []
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("string", "template_string"):
            strings.append((to_char[node.start_byte], to_char[node.end_byte]))
        elif node.type == "comment":
            comment_ends.append(to_char[node.end_byte])
        else:
            stack.extend(node.children)
    return strings, comment_ends


def _insertion_points(text: str, typescript: bool) -> list[tuple[int, str]]:
    """(offset, kind) where a character may go without changing the program: 'line' at the
    start of a line (a line break or a form feed there is a blank line or whitespace), and
    'comment' at the end of a comment."""
    if typescript:
        strings, comment_ends = _typescript_spans(text)
        starts = [m.end() for m in re.finditer("\r\n|[\r\n\u2028\u2029]", text)]
    else:
        strings, comment_ends = _python_strings(text), _python_comment_ends(text)
        starts = [m.end() for m in PYTHON_BREAKS.finditer(text) if not text[: m.start()].endswith("\\")]
    inside = [start for start in starts if not any(a < start < b for a, b in strings)]
    return [(start, "line") for start in inside] + [(end, "comment") for end in comment_ends]


def _breaks_line(char: str, typescript: bool) -> bool:
    return char in ("\r", "\u2028", "\u2029") if typescript else char == "\r"


def _below_a_comment(text: str, offset: int, kind: str) -> bool:
    """offset ends a line that holds only a comment (which may stand above a table's call)."""
    line_start = max(text.rfind(c, 0, offset - (kind == "line")) for c in "\r\n\u2028\u2029") + 1
    return text[line_start:offset].strip().startswith(("#", "//", "/*"))


def _mutate(text: str, typescript: bool, picks: list[tuple[int, str]]) -> tuple[str, dict[int, int]]:
    """text with the picked characters inserted, and where each original offset went. A
    character the language does not allow at a point is swapped for a form feed or one it
    does allow: U+2028/9 only in Python comments, never a \\r there (it would end the
    comment); no \\r right before a \\n (one \\r\\n), and no line break right under a line
    that holds only a comment (a blank line detaches an ignore comment from its table)."""
    points = _insertion_points(text, typescript)
    allowed = {"comment": {"\r": "\u2028"}, "line": {"\u2028": "\f", "\u2029": "\f"}}
    chosen: dict[int, str] = {}
    for index, char in picks:
        offset, kind = points[index % len(points)]
        if not typescript:
            char = allowed[kind].get(char, char)
        if _breaks_line(char, typescript) and (
            text[offset : offset + 1] == "\n" or _below_a_comment(text, offset, kind)
        ):
            char = "\f"
        chosen[offset] = chosen.get(offset, "") + char
    parts, done, shift, moved = [], 0, 0, {}
    for offset in sorted(chosen):
        parts += [text[done:offset], chosen[offset]]
        shift += len(chosen[offset])
        moved[offset] = offset + shift
        done = offset
    return "".join([*parts, text[done:]]), moved


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(PYTHON_FIXTURES + TYPESCRIPT_FIXTURES),
    picks=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["\r", "\f", "\u2028", "\u2029"])),
        min_size=1,
        max_size=12,
    ),
)
def test_inserted_line_breaks_change_nothing_but_line_numbers(
    tmp_path: Path, name: str, picks: list[tuple[int, str]]
) -> None:
    """The same tables, findings, suppressions and notices; each table on the line the
    language puts it (counted here independently, by a search for its terminators)."""
    typescript = name.endswith(".ts")
    text = (FIXTURES / name).read_text(encoding="utf-8")
    mutated, moved = _mutate(text, typescript, picks)
    if not typescript:
        ast.parse(mutated)  # still the same program to CPython
    before = lint_text(tmp_path, f"before{Path(name).suffix}", text)
    after = lint_text(tmp_path, f"after{Path(name).suffix}", mutated)
    assert verdicts(after) == verdicts(before)
    assert not after.errors and not before.errors
    assert [n.level for n in after.notices] == [n.level for n in before.notices]
    terminators = re.compile("\r\n|[\r\n\u2028\u2029]" if typescript else "\r\n|[\r\n]")
    line_starts = [0, *(m.end() for m in terminators.finditer(text))]
    expected = {}
    for table in before.tables:
        start = line_starts[(table.line or 1) - 1]
        inserted = max((offset for offset in moved if offset <= start), default=None)
        where = start + (moved[inserted] - inserted if inserted is not None else 0)
        expected[table.construct_path, table.replica_region] = 1 + len(terminators.findall(mutated[:where]))
    assert {(t.construct_path, t.replica_region): t.line for t in after.tables} == expected
