"""The neutral form both source parsers produce: table construct calls and their props.

Python keyword arguments and TypeScript object literals become the same `Props` (camelCase
keys), so one function (tablesafe.source.describe) decides what a call means for the
rules, whatever language it was written in. Only literals are kept as values; anything
that needs the program to run is a `NonLiteral` carrying its source text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Union, cast

TABLE_CLASSES = frozenset({"Table", "TableV2"})
"""The L2 table constructs."""
L1_CLASSES = frozenset({"CfnTable", "CfnGlobalTable"})
"""The L1 table constructs: no removal policy prop, and CloudFormation prop names."""
CONSTRUCT_CLASSES = TABLE_CLASSES | L1_CLASSES
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
class SuppressionCall:
    """A suppression written in code on a table: the `suppress(table, rule, reason, expires)`
    helper, or `addMetadata('tablesafe', {suppress: [...]})`; its entries as written."""

    line: int
    entries: Value
    """A list of Props with id, reason and expires (the Metadata shape), or a NonLiteral."""
    written_as: str
    """"suppress()", "addMetadata" / "add_metadata" (the CloudFormation resource's Metadata)
    or "node.addMetadata" / "node.add_metadata" (construct metadata, which never reaches
    the template)."""
    condition: NonLiteral | None = None
    """The branch or loop it is written in (not around the table's call): whether it runs
    depends on the app."""

    @property
    def construct_metadata(self) -> bool:
        return self.written_as.startswith("node.")


@dataclass(frozen=True, slots=True)
class ConstructCall:
    """One `Table`, `TableV2`, `CfnTable` or `CfnGlobalTable` call through an aws_dynamodb
    import, with what later statements of the file do to the construct it makes."""

    kind: str
    """"Table", "TableV2", "CfnTable" or "CfnGlobalTable"."""
    construct_id: str | None
    """The id argument when it is a string literal."""
    line: int
    end_line: int
    props: Props | NonLiteral
    """NonLiteral when the props argument is not an object literal / keyword arguments."""
    variable: str | None = None
    """The name the call's result is assigned to (`orders`, `self.orders`, `this.orders`)."""
    scope: str | None = None
    """The scope argument when it is a name or an attribute (`self`, `this`, `stack`), so
    remediation can reach an unassigned construct as `<scope>.node.find_child(<id>)`."""
    overrides: tuple[Override, ...] = ()
    """What later statements set in the table's resource, in source order."""
    suppressions: tuple[SuppressionCall, ...] = ()
    """Suppressions written in code on the variable (or on the call itself)."""


class Deleted:
    """What a deletion override (`add_deletion_override`) leaves: the value removed."""

    def __repr__(self) -> str:
        return "DELETED"


DELETED = Deleted()
REMOVAL_POLICY = ("RemovalPolicy",)
RAW_OVERRIDES = {
    "add_override": (False, True),
    "add_property_override": (True, True),
    "add_deletion_override": (False, False),
    "add_property_deletion_override": (True, False),
    "addOverride": (False, True),
    "addPropertyOverride": (True, True),
    "addDeletionOverride": (False, False),
    "addPropertyDeletionOverride": (True, False),
}
"""The raw override methods of an L1 -> (its path is under Properties, it takes a value)."""
_DEFAULT_CHILD = (".node.default_child", ".node.defaultChild")


def l1_owner(name: str) -> str:
    """The construct whose L1 a dotted name reaches: `orders.node.default_child` -> `orders`
    (an L1's own name stays as it is)."""
    for suffix in _DEFAULT_CHILD:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


"""The path of `apply_removal_policy(...)`, which sets both DeletionPolicy and
UpdateReplacePolicy."""


@dataclass(frozen=True, slots=True)
class Override:
    """A statement that sets a value of the table's CloudFormation resource after its call:
    `apply_removal_policy(P)` (path REMOVAL_POLICY), `cfn_options.deletion_policy = P`
    (("DeletionPolicy",)), and the raw overrides `add_override(path, v)`,
    `add_property_override(path, v)` (("Properties", ...)), `add_deletion_override(path)`
    and `add_property_deletion_override(path)` (value DELETED). CDK applies raw overrides
    last, over the props, the removal policy and cfn_options, whatever the statement order."""

    path: tuple[str, ...]
    value: Value | Deleted
    line: int
    written_as: str
    """The method or attribute, as the source spells it (`add_property_override`)."""
    raw: bool = False
    span: tuple[int, int] | None = None
    """UTF-8 byte offsets of the literal value in the file (the enum member's name for an
    enum), which --fix may rewrite; None when there is nothing to rewrite."""


@dataclass(frozen=True, slots=True)
class Effect:
    """A statement that changes the construct a call made: an override or a suppression, on
    the variable the call was assigned to (target a name) or on the call written in place
    (target its line); or a new name for that construct's L1 (`cfn =
    table.node.default_child`: target "table", alias "cfn"), whose statements count too."""

    target: str | int
    line: int
    override: Override | None = None
    suppression: SuppressionCall | None = None
    alias: str | None = None
    condition: tuple[int, int, NonLiteral] | None = None
    """(first line, last line, header) of the innermost branch or loop around the statement."""

    def on(self, call: ConstructCall) -> Effect:
        """This effect as it bears on call: an override set in a branch or loop that does not
        also hold the call depends on that branch (its header stands for the value)."""
        if self.condition is None or self.condition[0] <= call.line <= self.condition[1]:
            return self
        header = self.condition[2]
        return replace(
            self,
            override=replace(self.override, value=header, span=None) if self.override else None,
            suppression=replace(self.suppression, condition=header) if self.suppression else None,
        )


def attach(calls: Sequence[ConstructCall], effects: Iterable[Effect]) -> list[ConstructCall]:
    """The calls with their effects: each effect on a name goes to the last call before it
    that was assigned to that name, so a name reused for several tables stays apart (in
    O(log n) per effect: lint stays linear in the tables of a file)."""
    by_variable: dict[str, tuple[list[int], list[int]]] = {}  # name -> (lines, call indexes)
    by_line: dict[int, int] = {}
    for index, call in enumerate(calls):
        by_line.setdefault(call.line, index)
        if call.variable is not None:
            lines, indexes = by_variable.setdefault(call.variable, ([], []))
            lines.append(call.line)
            indexes.append(index)
    overrides: dict[int, list[Override]] = {}
    suppressions: dict[int, list[SuppressionCall]] = {}
    for effect in sorted(effects, key=lambda effect: effect.line):
        if isinstance(effect.target, int):
            index = by_line.get(effect.target)
        else:
            lines, indexes = by_variable.get(effect.target, ([], []))
            before = bisect.bisect_right(lines, effect.line)
            index = indexes[before - 1] if before else None
        if index is None:
            continue
        if effect.alias is not None:  # the alias names this call's construct from here on
            lines, indexes = by_variable.setdefault(effect.alias, ([], []))
            position = bisect.bisect_right(lines, effect.line)
            lines.insert(position, effect.line)
            indexes.insert(position, index)
            continue
        effect = effect.on(calls[index])
        if effect.override is not None:
            overrides.setdefault(index, []).append(effect.override)
        if effect.suppression is not None:
            suppressions.setdefault(index, []).append(effect.suppression)
    return [
        replace(
            call,
            overrides=call.overrides + tuple(overrides.get(index, ())),
            suppressions=call.suppressions + tuple(suppressions.get(index, ())),
        )
        if index in overrides or index in suppressions
        else call
        for index, call in enumerate(calls)
    ]


SUPPRESSION_MARK = "tablesafe:"
"""What every suppression comment holds (`# tablesafe: ignore[TS003] ...`): a file without
it has no comment to read, and its comments are not looked for."""


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment of the language (a Python COMMENT token, a tree-sitter comment node, never
    text inside a string) that mentions SUPPRESSION_MARK."""

    line: int
    """The line of the mark, in the file's line model (tablesafe.source.lines)."""
    text: str
    alone: bool
    """Nothing but whitespace before it on its line: it may stand above a call."""
    span: tuple[int, int] = (0, 0)
    """Its UTF-8 byte offsets in the file (what --fix removes when it writes suppress())."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """What lint reads from one file: its table construct calls, the construct libraries it
    imports that may create tables lint does not see, and its suppression comments."""

    calls: list[ConstructCall]
    libraries: tuple[str, ...] = ()
    """The modules imported under PYTHON_LIBRARIES or TYPESCRIPT_LIBRARIES, as written, in
    order of appearance."""
    comments: tuple[Comment, ...] = ()
    suppress_callee: str | None = None
    """How the file names tablesafe's suppress() helper (`suppress`, `ta.suppress`), if it
    imports it."""
    imports_end: int = 0
    """The last line of the module's last import statement (0 when it has none)."""


PYTHON_LIBRARIES = ("aws_solutions_constructs",)
TYPESCRIPT_LIBRARIES = ("@aws-solutions-constructs/",)
"""Module prefixes of third-party construct libraries whose constructs can create DynamoDB
tables: lint cannot see those tables and says so, once per file."""


def is_library(module: str, prefixes: Iterable[str]) -> bool:
    """module is one of prefixes (a Python package, an npm scope ending in /) or below one."""
    return any(
        module == prefix or module.startswith(prefix if prefix.endswith("/") else prefix + ".")
        for prefix in prefixes
    )


def suppress_callee(names: Iterable[str], modules: Iterable[str]) -> str | None:
    """How a file calls tablesafe's suppress(): a name imported for it, else through a name
    of its module (`ta.suppress`); None when the file imports neither."""
    return next(iter(sorted(names)), None) or next((f"{m}.suppress" for m in sorted(modules)), None)


def metadata_target(receiver: str, method: str) -> tuple[str, str]:
    """(the construct's name, how the Metadata is written) for `<receiver>.<method>(...)`:
    on the construct (an L1), on its `node.defaultChild` (an L2's L1), or on its `node`
    (construct metadata, which never reaches the template)."""
    if (owner := l1_owner(receiver)) != receiver:
        return owner, method
    if receiver.endswith(".node"):
        return receiver.removesuffix(".node"), f"node.{method}"
    return receiver, method


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


def pascal(name: str) -> str:
    """deletionPolicy -> DeletionPolicy (CloudFormation's spelling)."""
    return name[:1].upper() + name[1:]


def camel(name: str) -> str:
    """point_in_time_recovery -> pointInTimeRecovery (the key jsii and TypeScript use)."""
    return _WORD.sub(lambda match: match.group(1).upper(), name) if "_" in name else name


def build_props(
    entries: Iterable[tuple[str | None, Value]], *, spread_overrides: bool, keys_as_written: bool = False
) -> Props:
    """Props from (key, value) pairs in source order, where a None key is a spread.

    In an object literal (and a Python dict) a spread overrides the props written before
    it, so those become unknown; Python keyword arguments cannot repeat a key, so there
    spread_overrides is False and the written props stay literal. keys_as_written keeps
    snake_case keys: a Python dict that an L1 receives (its struct props also accept a
    token) reaches aws-cdk-lib as it is, which reads only the camelCase keys.
    """
    values: dict[str, Value] = {}
    spread: NonLiteral | None = None
    for key, value in entries:
        if key is not None:
            values[key if keys_as_written else camel(key)] = value
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
