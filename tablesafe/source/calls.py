"""The neutral form both source parsers produce: table construct calls and their props.

Python keyword arguments and TypeScript object literals become the same `Props` (camelCase
keys), so one function (tablesafe.source.describe) decides what a call means for the
rules, whatever language it was written in. Only literals are kept as values; anything
that needs the program to run is a `NonLiteral` carrying its source text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union, cast

TABLE_CLASSES = frozenset({"Table", "TableV2"})
_MAX_TEXT = 40


@dataclass(frozen=True, slots=True)
class NonLiteral:
    """An expression whose value only exists when the app runs (a variable, a call, a spread)."""

    text: str

    @classmethod
    def of(cls, source: str) -> NonLiteral:
        """Whitespace collapsed and shortened, so the text fits in a message."""
        text = " ".join(source.split())
        return cls(text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…")

    def __str__(self) -> str:
        return f"`{self.text}`"


@dataclass(frozen=True, slots=True)
class Member:
    """An enum member written as `<...>.Enum.MEMBER`, e.g. RemovalPolicy.DESTROY."""

    enum: str
    name: str

    def __str__(self) -> str:
        return f"{self.enum}.{self.name}"


Value = Union[str, int, float, bool, None, list["Value"], "Props", Member, NonLiteral]


@dataclass(frozen=True, slots=True)
class Props:
    """Literal props (camelCase keys). spread is the text of a `**kwargs` or `...spread` that
    may set any prop not written here; None when the props are closed."""

    values: dict[str, Value] = field(default_factory=dict)
    spread: NonLiteral | None = None

    def get(self, key: str) -> Value:
        """The prop's value; None when provably unset; NonLiteral when a spread may set it."""
        if key in self.values:
            return self.values[key]
        return self.spread


@dataclass(frozen=True, slots=True)
class ConstructCall:
    """One `Table(...)` or `TableV2(...)` call through an aws_dynamodb import."""

    kind: str
    """"Table" or "TableV2"."""
    construct_id: str | None
    """The id argument when it is a string literal."""
    line: int
    end_line: int
    props: Props | NonLiteral
    """NonLiteral when the props argument is not an object literal / keyword arguments."""


MAX_LITERAL_DEPTH = 32
"""How deep a literal is read. CDK props nest a few levels; a deeper value is a NonLiteral
(left to `tablesafe check`, and named in lint's notice) instead of a recursion without
bound."""


class SourceSyntaxError(Exception):
    """A source file that does not parse (or nests deeper than a parser can follow); the
    message starts with the line number."""

    def __init__(self, line: int | None, problem: str, kind: str = "syntax error") -> None:
        super().__init__(f"line {line}: {kind}: {problem}" if line else f"{kind}: {problem}")
        self.line = line


def too_deep() -> SourceSyntaxError:
    """The one error for a file whose expressions nest deeper than the parser follows."""
    return SourceSyntaxError(
        None,
        "an expression nests too deeply to be read (tablesafe check reads the synthesized template)",
        "cannot be linted",
    )


_WORD = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    """point_in_time_recovery -> pointInTimeRecovery (the key jsii and TypeScript use)."""
    return _WORD.sub(lambda match: match.group(1).upper(), name) if "_" in name else name


def build_props(entries: Iterable[tuple[str | None, Value]], *, spread_overrides: bool) -> Props:
    """Props from (key, value) pairs in source order, where a None key is a spread.

    In an object literal (and a Python dict) a spread overrides the props written before
    it, so those become unknown; Python keyword arguments cannot repeat a key, so there
    spread_overrides is False and the written props stay literal.
    """
    values: dict[str, Value] = {}
    spread: NonLiteral | None = None
    for key, value in entries:
        if key is not None:
            values[camel(key)] = value
            continue
        spread = spread or cast(NonLiteral, value)
        if spread_overrides:
            values = dict.fromkeys(values, spread)
    return Props(values, spread)


def plain(value: Value) -> object:
    """JSON-shaped: Props as dicts, enum members and non-literals as their source text."""
    if isinstance(value, Props):
        return {key: plain(item) for key, item in value.values.items() if item is not None}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Member | NonLiteral):
        return str(value).strip("`")
    return value
