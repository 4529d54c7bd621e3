"""Table construct calls in a Python CDK source file, read with the standard `ast`.

A call counts only when it goes through a name bound to aws_cdk.aws_dynamodb: `import
aws_cdk.aws_dynamodb as ddb`, `from aws_cdk import aws_dynamodb [as ddb]`, `import aws_cdk
as cdk` (`cdk.aws_dynamodb.Table`), or `from aws_cdk.aws_dynamodb import Table [as T]`.
Imports count wherever they are (on a line that starts with `from`/`import` and names
aws_cdk); a later rebinding of the name is not tracked.

Statements that change a table after its call are followed when the call's result is
assigned to a name: `t.apply_removal_policy(...)`, `t.cfn_options.deletion_policy = ...`,
`t.add_metadata("tablesafe", ...)` and tablesafe's `suppress(t, ...)` helper.
"""

from __future__ import annotations

import ast
import bisect
import gc
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from tablesafe.source.calls import (
    CONSTRUCT_CLASSES,
    DELETED,
    L1_CLASSES,
    MAX_LITERAL_DEPTH,
    PYTHON_LIBRARIES,
    RAW_OVERRIDES,
    REMOVAL_POLICY,
    SUPPRESSION_MARK,
    Comment,
    ConstructCall,
    Deleted,
    Effect,
    Member,
    NonLiteral,
    Override,
    Props,
    SourceFile,
    SourceSyntaxError,
    SuppressionCall,
    Value,
    attach,
    build_props,
    camel,
    is_library,
    l1_owner,
    metadata_target,
    pascal,
    suppress_callee,
    too_deep,
)
from tablesafe.source.lines import Lines, python_lines
from tablesafe.suppressions import METADATA_KEY

MODULE = "aws_cdk.aws_dynamodb"
HELPERS = "tablesafe.cdk_aspects"
"""The module of the `suppress()` helper (tablesafe.cdk_aspects.suppress)."""
_IMPORTED = re.compile(rf"\b(?:aws_cdk|tablesafe|{'|'.join(map(re.escape, PYTHON_LIBRARIES))})\b")
_CONSTRUCTOR_ARGS = ("scope", "id")
_CFN_POLICIES = ("deletion_policy", "update_replace_policy")
_BRANCHES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Match)
"""Statements whose body may run or not, or many times, depending on the app."""
_EFFECTS = (
    r"\.\s*(?:apply_removal_policy\s*\(|add_metadata\s*\(|cfn_options\s*\.|default_child\b"
    r"|add_(?:property_)?(?:deletion_)?override\s*\()"
)


class _Names:
    """What the module's imports bind: aliases of the aws_dynamodb module (dotted), and
    names imported from it (local name -> exported name)."""

    def __init__(self, imports: list[ast.Import | ast.ImportFrom]) -> None:
        self.modules: set[str] = set()
        self.members: dict[str, str] = {}
        self.helper_modules: set[str] = set()
        """Names bound to tablesafe.cdk_aspects (`ta.suppress(...)`)."""
        self.suppress: set[str] = set()
        """Names bound to its suppress() helper."""
        self.libraries: list[str] = []
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if is_library(alias.name, PYTHON_LIBRARIES):
                        self.libraries.append(alias.name)
                    elif alias.name == MODULE:
                        self.modules.add(alias.asname or MODULE)
                    elif alias.name == "aws_cdk":
                        self.modules.add(f"{alias.asname or 'aws_cdk'}.aws_dynamodb")
                    elif alias.name == HELPERS:
                        self.helper_modules.add(alias.asname or HELPERS)
                continue
            if node.level or node.module is None:
                continue
            if is_library(node.module, PYTHON_LIBRARIES):
                self.libraries.append(node.module)
            if node.module == "aws_cdk":
                self.modules.update(a.asname or a.name for a in node.names if a.name == "aws_dynamodb")
            elif node.module == MODULE:
                for alias in node.names:
                    if alias.name == "*":
                        self.members.update((name, name) for name in CONSTRUCT_CLASSES)
                    else:
                        self.members[alias.asname or alias.name] = alias.name
            elif node.module == "tablesafe":
                self.helper_modules.update(a.asname or a.name for a in node.names if a.name == "cdk_aspects")
            elif node.module in (HELPERS, f"{HELPERS}.suppress"):
                self.suppress.update(a.asname or a.name for a in node.names if a.name == "suppress")

    def is_suppress(self, func: ast.expr) -> bool:
        """func names tablesafe's suppress() helper."""
        if isinstance(func, ast.Name):
            return func.id in self.suppress
        if not (isinstance(func, ast.Attribute) and func.attr == "suppress"):
            return False
        return _dotted(func.value) in self.helper_modules

    def exported(self, func: ast.expr) -> str | None:
        """The aws_dynamodb name a callee refers to (Table, Attribute, ...), else None."""
        if isinstance(func, ast.Name):
            return self.members.get(func.id)
        if isinstance(func, ast.Attribute) and _dotted(func.value) in self.modules:
            return func.attr
        return None


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Reader:
    def __init__(
        self, names: _Names, *, dict_keys_as_written: bool = False, where: _Where | None = None
    ) -> None:
        self.names = names
        self.dict_keys_as_written = dict_keys_as_written
        """For an L1's props: jsii passes a dict there unchanged (see build_props)."""
        self.where = where
        """Where statements stand in the file, for the spans of the literals --fix rewrites."""
        self.raw = self if dict_keys_as_written else _Reader(names, dict_keys_as_written=True)
        """The reader of raw override values, which are written as CloudFormation spells them."""

    def non_literal(self, node: ast.AST, prefix: str = "") -> NonLiteral:
        """Its text for messages (ast.unparse: get_source_segment splits the file each time;
        unparse recurses, so a chain of thousands of operators is shown as `…`)."""
        try:
            return NonLiteral.of(prefix + ast.unparse(node))
        except RecursionError:
            return NonLiteral(prefix + "…")

    def value(self, node: ast.expr, depth: int = 0) -> Value:
        if depth > MAX_LITERAL_DEPTH:
            return self.non_literal(node)
        if isinstance(node, ast.Constant) and not isinstance(node.value, bytes | complex):
            return node.value  # type: ignore[no-any-return]
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) in (int, float)
        ):
            return -node.operand.value  # type: ignore[no-any-return]
        if isinstance(node, ast.List | ast.Tuple) and not any(isinstance(e, ast.Starred) for e in node.elts):
            return [self.value(element, depth + 1) for element in node.elts]
        if isinstance(node, ast.Dict) and all(k is None or isinstance(k, ast.Constant) for k in node.keys):
            return build_props(
                (
                    (None, self.non_literal(v, "**"))
                    if k is None
                    else (str(k.value), self.value(v, depth + 1))  # type: ignore[attr-defined]
                    for k, v in zip(node.keys, node.values, strict=True)
                ),
                spread_overrides=True,
                keys_as_written=self.dict_keys_as_written,
            )
        if isinstance(node, ast.Call) and not node.args and self.is_struct(node.func):
            return self.keywords(node, depth=depth + 1)  # a struct: dynamodb.Attribute(name=..., type=...)
        if isinstance(node, ast.Attribute) and node.attr.isupper() and (owner := _dotted(node.value)):
            return Member(owner.rpartition(".")[2], node.attr)
        return self.non_literal(node)

    def is_struct(self, func: ast.expr) -> bool:
        """An aws_dynamodb class, or an L1's property class (`CfnTable.KeySchemaProperty`)."""
        if self.names.exported(func):
            return True
        return isinstance(func, ast.Attribute) and self.names.exported(func.value) in L1_CLASSES

    def keywords(self, call: ast.Call, skip: tuple[str, ...] = (), depth: int = 0) -> Props:
        return build_props(
            (
                (None, self.non_literal(k.value, "**"))
                if k.arg is None
                else (k.arg, self.value(k.value, depth))
                for k in call.keywords
                if k.arg not in skip
            ),
            spread_overrides=False,
        )

    def construct(self, kind: str, call: ast.Call, variable: str | None) -> ConstructCall:
        """Table(scope, id, **props): id and props may also be passed by keyword."""
        given = {k.arg: k.value for k in call.keywords if k.arg in _CONSTRUCTOR_ARGS}
        id_node = call.args[1] if len(call.args) > 1 else given.get("id")
        construct_id = (
            id_node.value if isinstance(id_node, ast.Constant) and isinstance(id_node.value, str) else None
        )
        props: Props | NonLiteral
        if len(call.args) > 2 or any(isinstance(a, ast.Starred) for a in call.args):
            props = self.non_literal(call)  # positional props are not CDK's Python API
        else:
            props = self.keywords(call, _CONSTRUCTOR_ARGS)
        scope = _dotted(call.args[0]) if call.args else None
        return ConstructCall(
            kind, construct_id, call.lineno, call.end_lineno or call.lineno, props, variable, scope=scope
        )

    def effect(self, statement: ast.stmt) -> Effect | None:
        """What a statement does to a table made earlier, if it is one of the forms lint
        follows (a whole statement, so a policy set under a condition is not followed)."""
        line = statement.lineno
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            return self._assignment(statement.targets[0], statement.value, line)
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not isinstance(call, ast.Call):
            return None
        func, args = call.func, call.args
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if isinstance(func, ast.Attribute) and func.attr == "apply_removal_policy":
            policy = args[0] if args else keywords.get("policy")
            if not (name := _dotted(func.value)) or policy is None:
                return None
            override = Override(REMOVAL_POLICY, self.value(policy), line, func.attr, span=self.span(policy))
            return Effect(l1_owner(name), line, override=override)
        if isinstance(func, ast.Attribute) and func.attr in RAW_OVERRIDES and (name := _dotted(func.value)):
            return self._raw_override(l1_owner(name), func.attr, call, line)
        if isinstance(func, ast.Attribute) and func.attr == "add_metadata" and len(args) == 2:
            receiver = _dotted(func.value)
            if not (isinstance(args[0], ast.Constant) and args[0].value == METADATA_KEY and receiver):
                return None
            name, written_as = metadata_target(receiver, "add_metadata")
            block = self.value(args[1])
            entries = block.get("suppress") if isinstance(block, Props) else block
            return Effect(name, line, suppression=SuppressionCall(line, entries, written_as))
        if self.names.is_suppress(func) and args:
            rule = args[1] if len(args) > 1 else keywords.get("rule")
            entry = {"id": rule, "reason": keywords.get("reason"), "expires": keywords.get("expires")}
            values = {key: self.value(node) for key, node in entry.items() if node is not None}
            construct = args[0]
            target = construct.lineno if isinstance(construct, ast.Call) else _dotted(construct)
            suppression = SuppressionCall(line, [Props(values)], "suppress()")
            return Effect(target, line, suppression=suppression) if target is not None else None
        return None

    def _assignment(self, target: ast.expr, value: ast.expr, line: int) -> Effect | None:
        """`t.cfn_options.deletion_policy = P` (or update_replace_policy), or a new name for a
        table's L1: `cfn = t.node.default_child`."""
        if (
            isinstance(target, ast.Attribute)
            and target.attr in _CFN_POLICIES
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "cfn_options"
            and (name := _dotted(target.value.value))
        ):
            path = (pascal(camel(target.attr)),)
            written_as = f"cfn_options.{target.attr}"
            override = Override(path, self.value(value), line, written_as, span=self.span(value))
            return Effect(l1_owner(name), line, override=override)
        alias, source = _dotted(target), _dotted(value)
        if alias and source and (owner := l1_owner(source)) != source:
            return Effect(owner, line, alias=alias)
        return None

    def _raw_override(self, name: str, method: str, call: ast.Call, line: int) -> Effect | None:
        """`add_override(path, value)` and its kin (calls.RAW_OVERRIDES): the path a literal
        string, the value read as CloudFormation writes it (keys as written)."""
        properties, takes_value = RAW_OVERRIDES[method]
        args = call.args
        if not args or len(args) < 1 + takes_value:
            return None
        path_node = args[0]
        if isinstance(path_node, ast.Constant) and isinstance(path_node.value, str):
            path = (*(("Properties",) if properties else ()), *path_node.value.split("."))
        else:
            path = ()  # a path lint cannot read may set anything
        value: Value | Deleted = DELETED
        span = None
        if takes_value:
            value = self.raw.value(args[1]) if path else self.non_literal(path_node)
            span = self.span(args[1])
        override = Override(path, value, line, method, raw=True, span=span)
        return Effect(name, line, override=override)

    def span(self, node: ast.expr) -> tuple[int, int] | None:
        """The UTF-8 byte offsets of a literal --fix may rewrite: a string or a boolean, or
        the member of an enum (`RemovalPolicy.DESTROY`: `DESTROY`)."""
        if self.where is None or node.end_lineno is None or node.end_col_offset is None:
            return None
        end = self.where.byte_offset(node.end_lineno, node.end_col_offset)
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bool):
            return self.where.byte_offset(node.lineno, node.col_offset), end
        if isinstance(node, ast.Attribute) and node.attr.isupper():
            return end - len(node.attr.encode()), end
        return None


def _blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    blocks = [getattr(statement, name, None) or [] for name in ("body", "orelse", "finalbody")]
    blocks += [clause.body for clause in getattr(statement, "handlers", ())]
    blocks += [case.body for case in getattr(statement, "cases", ())]
    return blocks


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", ())
    return min(statement.lineno, *(d.lineno for d in decorators)) if decorators else statement.lineno


class _Where:
    """Offsets of the text -> (innermost statement, line, UTF-8 column), each in
    O(log n): line starts and every body's first lines are bisected, never scanned, so
    locating the calls of a file stays linear in its tables."""

    def __init__(self, tree: ast.Module, lines: Lines[str]) -> None:
        self.tree = tree
        self.text = lines.text
        self.lines = lines
        self.first_lines: dict[int, list[int]] = {}

    def byte_offset(self, line: int, column: int) -> int:
        """The UTF-8 byte offset of ast's (line, column), whose column counts bytes."""
        return self.lines.byte_start(line) + column

    def _in(self, body: list[ast.stmt], line: int) -> ast.stmt | None:
        """The first statement of body spanning line (bodies are sorted and disjoint,
        except statements that share a line)."""
        firsts = self.first_lines.get(id(body))
        if firsts is None:
            firsts = self.first_lines[id(body)] = [_first_line(statement) for statement in body]
        index = bisect.bisect_right(firsts, line) - 1
        if index < 0:
            return None
        for statement in body[bisect.bisect_left(firsts, firsts[index]) : index + 1]:
            if line <= (statement.end_lineno or statement.lineno):
                return statement
        return None

    def statements_at(self, line: int) -> list[ast.stmt]:
        """The statements spanning line, outermost first (the last is a compound statement
        when line is in its header or decorators)."""
        found = []
        blocks = [self.tree.body]
        while blocks:
            inner = next((s for body in blocks if body and (s := self._in(body, line))), None)
            if inner is None:
                break
            found.append(inner)
            blocks = _blocks(inner)
        return found

    def statement_at(self, line: int) -> ast.stmt | None:
        """The innermost statement spanning line."""
        found = self.statements_at(line)
        return found[-1] if found else None

    def branch_around(self, statement: ast.stmt) -> tuple[int, int, NonLiteral] | None:
        """(first line, last line, header) of the innermost branch or loop whose body holds
        statement."""
        around = self.statements_at(statement.lineno)[:-1]
        branch = next((s for s in reversed(around) if isinstance(s, _BRANCHES)), None)
        if branch is None:
            return None
        header = NonLiteral.of(self.lines.content(branch.lineno))
        return branch.lineno, branch.end_lineno or branch.lineno, header

    def locate(self, starts: Iterable[int]) -> list[tuple[ast.stmt, int, int]]:
        """(innermost statement, line, UTF-8 column) of each offset inside a statement."""
        found = []
        for start in starts:
            line = self.lines.line_of(start)
            line_start = self.lines.start(line)
            if (statement := self.statement_at(line)) is not None:
                found.append((statement, line, len(self.text[line_start:start].encode())))
        return found


_IMPORT_LINE = re.compile(r"[ \t\f\v]*(?:from|import) ")


def _imports(where: _Where) -> list[ast.Import | ast.ImportFrom]:
    """The import statements on lines that name aws_cdk, tablesafe or a construct library."""
    text = where.text
    starts = []
    checked_line = -1
    for match in _IMPORTED.finditer(text):
        # One look at the start of each line (a long line that names aws_cdk a million
        # times is not scanned back to its start a million times).
        line_start = where.lines.start(where.lines.line_of(match.start()))
        if line_start != checked_line and _IMPORT_LINE.match(text, line_start):
            starts.append(match.start())
        checked_line = line_start
    statements = {id(found[0]): found[0] for found in where.locate(starts)}
    return [s for s in statements.values() if isinstance(s, ast.Import | ast.ImportFrom)]


def _dotted_pattern(names: Iterable[str], member: str) -> list[str]:
    """`<one of names>.<member>` with the spacing Python allows around dots."""
    modules = [r"\s*\.\s*".join(map(re.escape, name.split("."))) for name in names]
    return [rf"(?:{'|'.join(modules)})\s*\.\s*{member}"] if modules else []


def _starts(text: str, options: list[str]) -> list[int]:
    """Offsets where a call of one of options may start, not preceded by a name character or
    a dot. The pattern starts with a literal, which keeps the regex engine fast (a leading
    lookbehind costs 30 times more)."""
    if not options:
        return []
    pattern = re.compile(rf"(?:{'|'.join(options)})\s*\(")
    return [
        match.start()
        for match in pattern.finditer(text)
        if match.start() == 0 or not (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_.")
    ]


def _callee_starts(text: str, names: _Names) -> list[int]:
    """Offsets where a table construct call may start: `<module alias>.Table(` or `<imported
    name>(`."""
    options = _dotted_pattern(names.modules, r"(?:Cfn(?:Global)?Table|TableV2|Table)")
    options += [re.escape(local) for local, name in names.members.items() if name in CONSTRUCT_CLASSES]
    return _starts(text, options)


def _effect_starts(text: str, names: _Names) -> list[int]:
    """Offsets inside the statements that may change a table after its call."""
    helper = [re.escape(name) for name in names.suppress] + _dotted_pattern(names.helper_modules, "suppress")
    return sorted([*(match.start() for match in re.finditer(_EFFECTS, text)), *_starts(text, helper)])


def parse_python(text: str) -> list[ConstructCall]:
    """The table construct calls of a module, in source order."""
    return read_python(text).calls


def _variable(statement: ast.stmt, call: ast.Call) -> str | None:
    """The name a statement assigns call to (`orders = ...`, `self.orders: T = ...`)."""
    if isinstance(statement, ast.Assign) and statement.value is call and len(statement.targets) == 1:
        return _dotted(statement.targets[0])
    if isinstance(statement, ast.AnnAssign) and statement.value is call:
        return _dotted(statement.target)
    return None


def read_python(text: str) -> SourceFile:
    """The table construct calls of a module in source order, with what later statements do
    to them, and the construct libraries it imports."""
    with _collector_paused():
        return _read(text)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a file is read: an ast holds no reference
    cycles, and the collector's passes over millions of nodes took three quarters of the
    time of a 20,000-table file."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(text: str) -> SourceFile:
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise SourceSyntaxError(error.lineno or 1, error.msg) from None
    except (RecursionError, MemoryError):  # e.g. `1+1+...` with 200,000 terms
        raise too_deep() from None
    where = _Where(tree, python_lines(text))
    names = _Names(_imports(where))
    reader = _Reader(names, where=where)
    l1_reader = _Reader(names, dict_keys_as_written=True)
    calls: dict[tuple[int, int], ast.Call] = {}
    walked: set[int] = set()
    found = []
    for statement, line, column in where.locate(_callee_starts(text, names)):
        call = getattr(statement, "value", None)  # usually the call is the statement's value
        if not (isinstance(call, ast.Call) and (call.lineno, call.col_offset) == (line, column)):
            if id(statement) not in walked:  # else each statement is walked once, whatever it holds
                walked.add(id(statement))
                calls.update(
                    ((node.lineno, node.col_offset), node)
                    for node in ast.walk(statement)
                    if isinstance(node, ast.Call)
                )
            call = calls.get((line, column))
        if call is not None and (kind := names.exported(call.func)) in CONSTRUCT_CLASSES:
            read = l1_reader if kind in L1_CLASSES else reader
            found.append(read.construct(kind, call, _variable(statement, call)))
    imports_end = max(
        (s.end_lineno or s.lineno for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)), default=0
    )
    callee = suppress_callee(names.suppress, names.helper_modules)
    if not found:
        return SourceFile([], tuple(names.libraries), _comments(where.lines), callee, imports_end)
    effects = {id(statement): statement for statement, _, _ in where.locate(_effect_starts(text, names))}
    changes = [
        replace(effect, condition=where.branch_around(statement))
        for statement in effects.values()
        if (effect := reader.effect(statement))
    ]
    return SourceFile(
        attach(found, changes), tuple(names.libraries), _comments(where.lines), callee, imports_end
    )


def _comments(lines: Lines[str]) -> tuple[Comment, ...]:
    """The COMMENT tokens that hold the suppression mark. The tokenizer, not a search of the
    text: a mark inside a string or a docstring is no comment (tokenizing is slower than
    parsing, so a file without the mark is not tokenized)."""
    if SUPPRESSION_MARK not in lines.text:
        return ()
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(lines.text, newline="").readline):
            if token.type == tokenize.COMMENT and SUPPRESSION_MARK in token.string:
                row, column = token.start
                before = token.line[:column]
                start = lines.byte_start(row) + len(before.encode("utf-8", "surrogatepass"))
                span = (start, start + len(token.string.encode("utf-8", "surrogatepass")))
                found.append(Comment(row, token.string, not before.strip(), span))
    except (tokenize.TokenError, SyntaxError):
        pass  # ast parsed the file, so the tokenizer reads it too; what it read stays
    return tuple(found)
