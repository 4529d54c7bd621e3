"""`lint --fix` writes what a formatter would keep: each added prop on its own line at its
siblings' indentation, a one-line call that grows past the line length (100, or the
project's ruff `line-length` / prettier `printWidth`) one prop per line, and line endings
that follow the lines around them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tablesafe.config import Config
from tablesafe.fix import fix_files

IMPORTS_PY = "import aws_cdk as cdk\nfrom aws_cdk import aws_dynamodb as dynamodb\n\n\n"
IMPORTS_TS = "import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';\n\n"


def fixed(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    [fix], problems, _, _ = fix_files([str(path)], Config())
    assert not problems
    return fix.after


def test_python_props_hugging_the_call_get_lines_of_their_own(tmp_path: Path) -> None:
    """Arguments start on the call's line and only a nested value continues below: the new
    props go on new lines before the closing parenthesis, never at the end of a long line,
    and the line's trailing comment stays where it was."""
    text = IMPORTS_PY + (
        "def build(self):\n"
        '    table = dynamodb.Table(self, "Orders", partition_key=dynamodb.Attribute(\n'
        "        name='pk', type=dynamodb.AttributeType.STRING))  # the orders of the shop\n"
    )
    after = fixed(tmp_path, "stack.py", text)
    assert after == IMPORTS_PY + (
        "def build(self):\n"
        '    table = dynamodb.Table(self, "Orders", partition_key=dynamodb.Attribute(\n'
        "        name='pk', type=dynamodb.AttributeType.STRING),\n"
        "        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\n"
        "            point_in_time_recovery_enabled=True\n"
        "        ),\n"
        "        deletion_protection=True)  # the orders of the shop\n"
    )
    assert max(map(len, after.splitlines())) <= 100


@pytest.mark.parametrize(
    ("config", "limit"),
    [(None, 100), ("[tool.ruff]\nline-length = 200\n", 200), ("[tool.ruff]\nline-length = 60\n", 60)],
)
def test_a_python_one_line_call_past_the_line_length_gets_one_prop_per_line(
    tmp_path: Path, config: str | None, limit: int
) -> None:
    """Inline while the line fits the project's ruff line-length (default 100), else one
    argument per line, as ruff format writes it."""
    if config:
        (tmp_path / "pyproject.toml").write_text(config)
    call = '    dynamodb.Table(self, "Orders", deletion_protection=True)\n'
    after = fixed(tmp_path, "stack.py", IMPORTS_PY + "def build(self):\n" + call)
    body = after[len(IMPORTS_PY) :].splitlines()[1:]
    inline = call.rstrip("\n)") + (
        ", point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification("
        "point_in_time_recovery_enabled=True))"
    )
    if len(inline) <= limit:
        assert body == [inline]
        return
    assert body == [  # the specification, too long for its line, is split once more
        "    dynamodb.Table(",
        "        self,",
        '        "Orders",',
        "        deletion_protection=True,",
        "        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(",
        "            point_in_time_recovery_enabled=True",
        "        ),",
        "    )",
    ]


def test_python_fixed_file_is_what_ruff_format_keeps(tmp_path: Path) -> None:
    """A ruff-formatted app stays ruff-formatted after --fix (one-line, hugging-free and
    exploded calls, a replica list)."""
    text = IMPORTS_PY + (
        "def build(self, pk):\n"
        '    dynamodb.Table(self, "One", partition_key=pk)\n'
        "    dynamodb.Table(\n"
        "        self,\n"
        '        "Two",\n'
        "        partition_key=pk,\n"
        "        removal_policy=cdk.RemovalPolicy.DESTROY,\n"
        "    )\n"
        "    dynamodb.TableV2(\n"
        "        self,\n"
        '        "Three",\n'
        "        partition_key=pk,\n"
        '        replicas=[dynamodb.ReplicaTableProps(region="eu-west-1", deletion_protection=False)],\n'
        "    )\n"
    )
    path = tmp_path / "stack.py"
    path.write_text(text)
    ruff = [sys.executable, "-m", "ruff", "format", "--line-length", "100", "--check", "--diff"]
    assert subprocess.run([*ruff, str(path)], capture_output=True, check=False).returncode == 0
    after = fixed(tmp_path, "stack.py", text)
    path.write_text(after)
    checked = subprocess.run([*ruff, str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_python_new_lines_take_the_ending_of_their_lines(tmp_path: Path) -> None:
    """A file whose first line ends in LF and whose call is in CRLF lines: the new lines are
    CRLF like their neighbours (not the first line's LF)."""
    body = (
        "def build(self, pk):\r\n"
        "    dynamodb.Table(\r\n"
        "        self,\r\n"
        '        "Orders",\r\n'
        "        partition_key=pk,\r\n"
        "        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\r\n"
        "            point_in_time_recovery_enabled=True\r\n"
        "        ),\r\n"
        "    )\r\n"
    )
    after = fixed(tmp_path, "stack.py", IMPORTS_PY + body)
    added = after[len(IMPORTS_PY) :]
    assert "        deletion_protection=True,\r\n" in added
    assert added.count("\n") == added.count("\r\n")


def test_typescript_props_hugging_the_object_get_lines_of_their_own(tmp_path: Path) -> None:
    """The new props go on lines of their own, one level in from the object's line (the
    file indents by two), before the closing brace, without a trailing comma as the object
    has none; the trailing comment stays last."""
    text = IMPORTS_TS + (
        "export function build(scope: Construct) {\n"
        "  new dynamodb.Table(scope, 'Orders', { partitionKey: {\n"
        "      name: 'pk', type: dynamodb.AttributeType.STRING } }); // the orders of the shop\n"
        "}\n"
    )
    after = fixed(tmp_path, "stack.ts", text)
    assert after == IMPORTS_TS + (
        "export function build(scope: Construct) {\n"
        "  new dynamodb.Table(scope, 'Orders', { partitionKey: {\n"
        "      name: 'pk', type: dynamodb.AttributeType.STRING },\n"
        "    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },\n"
        "    deletionProtection: true }); // the orders of the shop\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("prettier", "indent", "limit"),
    [
        (None, "  ", 100),
        ({"printWidth": 140, "tabWidth": 4}, "    ", 140),
        ({"printWidth": 80, "useTabs": True}, "\t", 80),
    ],
)
def test_a_typescript_one_line_object_past_the_line_length_gets_one_prop_per_line(
    tmp_path: Path, prettier: dict[str, object] | None, indent: str, limit: int
) -> None:
    if prettier:
        (tmp_path / ".prettierrc").write_text(json.dumps(prettier))
    line = "new dynamodb.Table(this, 'Orders', { partitionKey: pk, billingMode: BillingMode.PROVISIONED });\n"
    after = fixed(tmp_path, "stack.ts", IMPORTS_TS + "  " + line)
    inline = len(line) + len(", pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true }")
    inline += len(", deletionProtection: true")
    if inline <= limit:
        assert after.count("\n") == IMPORTS_TS.count("\n") + 1
        return
    assert after == IMPORTS_TS + (
        "  new dynamodb.Table(this, 'Orders', {\n"
        f"  {indent}partitionKey: pk,\n"
        f"  {indent}billingMode: BillingMode.PROVISIONED,\n"
        f"  {indent}pointInTimeRecoverySpecification: {{ pointInTimeRecoveryEnabled: true }},\n"
        f"  {indent}deletionProtection: true,\n"
        "  });\n"
    )


def test_typescript_new_lines_take_the_ending_of_their_lines(tmp_path: Path) -> None:
    body = (
        "new dynamodb.Table(this, 'Orders', {\r\n"
        "  partitionKey: pk,\r\n"
        "  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },\r\n"
        "});\r\n"
    )
    after = fixed(tmp_path, "stack.ts", IMPORTS_TS + body)
    added = after[len(IMPORTS_TS) :]
    assert "  deletionProtection: true,\r\n" in added
    assert added.count("\n") == added.count("\r\n")
