"""Table construct calls in a Python CDK source file, read with the standard `ast`.

A call counts only when it goes through a name bound to aws_cdk.aws_dynamodb: `import
aws_cdk.aws_dynamodb as ddb`, `from aws_cdk import aws_dynamodb [as ddb]`, `import aws_cdk
as cdk` (`cdk.aws_dynamodb.Table`), or `from aws_cdk.aws_dynamodb import Table [as T]`.
Imports count wherever they are (on a line that starts with `from`/`import` and names
aws_cdk); a later rebinding of the name is not tracked.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable

from tablesafe.source.calls import (
    MAX_LITERAL_DEPTH,
    TABLE_CLASSES,
    ConstructCall,
    Member,
    NonLiteral,
    Props,
    SourceSyntaxError,
    Value,
    build_props,
    too_deep,
)

MODULE = "aws_cdk.aws_dynamodb"
_AWS_CDK = re.compile(r"aws_cdk\b")
_CONSTRUCTOR_ARGS = ("scope", "id")


class _Names:
    """What the module's imports bind: aliases of the aws_dynamodb module (dotted), and
    names imported from it (local name -> exported name)."""

    def __init__(self, imports: list[ast.Import | ast.ImportFrom]) -> None:
        self.modules: set[str] = set()
        self.members: dict[str, str] = {}
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == MODULE:
                        self.modules.add(alias.asname or MODULE)
                    elif alias.name == "aws_cdk":
                        self.modules.add(f"{alias.asname or 'aws_cdk'}.aws_dynamodb")
            elif node.module == "aws_cdk" and node.level == 0:
                self.modules.update(a.asname or a.name for a in node.names if a.name == "aws_dynamodb")
            elif node.module == MODULE and node.level == 0:
                for alias in node.names:
                    if alias.name == "*":
                        self.members.update((name, name) for name in TABLE_CLASSES)
                    else:
                        self.members[alias.asname or alias.name] = alias.name

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
    def __init__(self, names: _Names) -> None:
        self.names = names

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
            )
        if isinstance(node, ast.Call) and not node.args and self.names.exported(node.func):
            return self.keywords(node, depth=depth + 1)  # a struct: dynamodb.Attribute(name=..., type=...)
        if isinstance(node, ast.Attribute) and node.attr.isupper() and (owner := _dotted(node.value)):
            return Member(owner.rpartition(".")[2], node.attr)
        return self.non_literal(node)

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

    def construct(self, kind: str, call: ast.Call) -> ConstructCall:
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
        return ConstructCall(kind, construct_id, call.lineno, call.end_lineno or call.lineno, props)


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

    def __init__(self, tree: ast.Module, text: str) -> None:
        self.tree = tree
        self.text = text
        self.line_starts = [0, *(match.end() for match in re.finditer("\n", text))]
        self.first_lines: dict[int, list[int]] = {}

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

    def statement_at(self, line: int) -> ast.stmt | None:
        """The innermost statement spanning line (a compound statement when line is in its
        header or decorators)."""
        found = None
        blocks = [self.tree.body]
        while blocks:
            inner = next((s for body in blocks if body and (s := self._in(body, line))), None)
            if inner is None:
                break
            found, blocks = inner, _blocks(inner)
        return found

    def locate(self, starts: Iterable[int]) -> list[tuple[ast.stmt, int, int]]:
        """(innermost statement, line, UTF-8 column) of each offset inside a statement."""
        found = []
        for start in starts:
            line = bisect.bisect_right(self.line_starts, start)
            line_start = self.line_starts[line - 1]
            if (statement := self.statement_at(line)) is not None:
                found.append((statement, line, len(self.text[line_start:start].encode())))
        return found


def _imports(where: _Where) -> list[ast.Import | ast.ImportFrom]:
    """The import statements on lines that name aws_cdk."""
    text = where.text
    starts = []
    for match in _AWS_CDK.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if text[line_start : match.start()].lstrip().startswith(("from ", "import ")):
            starts.append(match.start())
    statements = {id(found[0]): found[0] for found in where.locate(starts)}
    return [s for s in statements.values() if isinstance(s, ast.Import | ast.ImportFrom)]


def _callee_starts(text: str, names: _Names) -> list[int]:
    """Offsets where a Table/TableV2 call may start: `<module alias>.Table(` or `<imported
    name>(`, not preceded by a name character or a dot. The pattern starts with a literal,
    which keeps the regex engine fast (a leading lookbehind costs 30 times more)."""
    modules = [r"\s*\.\s*".join(map(re.escape, module.split("."))) for module in names.modules]
    options = [rf"(?:{'|'.join(modules)})\s*\.\s*Table(?:V2)?"] if modules else []
    options += [re.escape(local) for local, name in names.members.items() if name in TABLE_CLASSES]
    if not options:
        return []
    pattern = re.compile(rf"(?:{'|'.join(options)})\s*\(")
    return [
        match.start()
        for match in pattern.finditer(text)
        if match.start() == 0 or not (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_.")
    ]


def parse_python(text: str) -> list[ConstructCall]:
    """The table construct calls of a module, in source order."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise SourceSyntaxError(error.lineno or 1, error.msg) from None
    except (RecursionError, MemoryError):  # e.g. `1+1+...` with 200,000 terms
        raise too_deep() from None
    where = _Where(tree, text)
    names = _Names(_imports(where))
    reader = _Reader(names)
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
        if call is not None and (kind := names.exported(call.func)) in TABLE_CLASSES:
            found.append(reader.construct(kind, call))
    return found
