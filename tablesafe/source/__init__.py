"""CDK source files (Python, TypeScript) -> table descriptions, for `tablesafe lint`.

Each parser turns a file into `ConstructCall`s (tablesafe.source.calls), and one function,
tablesafe.source.describe.describe_call, turns those into the descriptions every rule
judges. The TypeScript parser (tree-sitter) is imported only when a TypeScript file is
linted.
"""

from __future__ import annotations

from pathlib import PurePath

from tablesafe.source.calls import ConstructCall

PYTHON_SUFFIXES = frozenset({".py", ".pyi"})
TYPESCRIPT_SUFFIXES = frozenset({".ts", ".mts", ".cts", ".tsx"})
SUFFIXES = PYTHON_SUFFIXES | TYPESCRIPT_SUFFIXES
MARKERS = ("aws_dynamodb", "aws-dynamodb")
"""Every file that can define a table names the module one of these ways."""


def parse_source(path: PurePath, text: str) -> list[ConstructCall]:
    """The table construct calls of one file (suffix in SUFFIXES); raises SourceSyntaxError."""
    if not any(marker in text for marker in MARKERS):
        return []  # the cheap filter: most files of a CDK app define no table
    if path.suffix in PYTHON_SUFFIXES:
        from tablesafe.source.python_cdk import parse_python

        return parse_python(text)
    from tablesafe.source.typescript_cdk import parse_typescript

    return parse_typescript(text, tsx=path.suffix == ".tsx")
