"""CDK source files (Python, TypeScript) -> table descriptions, for `tablesafe lint`.

Each parser turns a file into `ConstructCall`s (tablesafe.source.calls) and the construct
libraries it imports (a `SourceFile`), and one function,
tablesafe.source.describe.describe_call, turns those into the descriptions every rule
judges. The TypeScript parser (tree-sitter) is imported only when a TypeScript file is
linted.
"""

from __future__ import annotations

from pathlib import PurePath

from tablesafe.source.calls import PYTHON_LIBRARIES, TYPESCRIPT_LIBRARIES, ConstructCall, SourceFile

PYTHON_SUFFIXES = frozenset({".py", ".pyi"})
TYPESCRIPT_SUFFIXES = frozenset({".ts", ".mts", ".cts", ".tsx"})
SUFFIXES = PYTHON_SUFFIXES | TYPESCRIPT_SUFFIXES
MARKERS = ("aws_dynamodb", "aws-dynamodb", *PYTHON_LIBRARIES, *TYPESCRIPT_LIBRARIES)
"""Every file that can define a table names the module one of these ways, and every file
that uses a construct library that may create tables names that library."""


def read_source(path: PurePath, text: str) -> SourceFile:
    """The table construct calls and construct libraries of one file (suffix in SUFFIXES);
    raises SourceSyntaxError."""
    if not any(marker in text for marker in MARKERS):
        return SourceFile([])  # the cheap filter: most files of a CDK app define no table
    if path.suffix in PYTHON_SUFFIXES:
        from tablesafe.source.python_cdk import read_python

        return read_python(text)
    from tablesafe.source.typescript_cdk import read_typescript

    return read_typescript(text, tsx=path.suffix == ".tsx")


def parse_source(path: PurePath, text: str) -> list[ConstructCall]:
    """The table construct calls of one file (suffix in SUFFIXES); raises SourceSyntaxError."""
    return read_source(path, text).calls
