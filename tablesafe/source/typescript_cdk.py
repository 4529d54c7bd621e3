"""Table construct calls in a TypeScript CDK source file, read with tree-sitter.

tree-sitter-typescript is a real parser (the grammar editors use), so comments, strings
and template literals are never mistaken for code. A `new X(...)` counts only when X goes
through a name bound to aws-cdk-lib's aws-dynamodb: `import * as ddb from
'aws-cdk-lib/aws-dynamodb'`, `import { Table, TableV2 as T2 } from
'aws-cdk-lib/aws-dynamodb'`, `import ddb = require('aws-cdk-lib/aws-dynamodb')`,
`import { aws_dynamodb as ddb } from 'aws-cdk-lib'` or `import * as cdk from
'aws-cdk-lib'` (`cdk.aws_dynamodb.Table`). CommonJS `require()` calls are not followed.
"""

from __future__ import annotations

from functools import cache

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor

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
)

MODULE = "aws-cdk-lib/aws-dynamodb"
LIBRARY = "aws-cdk-lib"
_QUERY = """
(import_statement) @import
(new_expression constructor: (_) @constructor arguments: (arguments) @arguments) @new
"""
_WRAPPERS = frozenset(
    {"as_expression", "satisfies_expression", "non_null_expression", "parenthesized_expression"}
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


@cache
def _grammar(tsx: bool) -> tuple[Parser, Query]:
    language = Language(
        tree_sitter_typescript.language_tsx() if tsx else tree_sitter_typescript.language_typescript()
    )
    return Parser(language), Query(language, _QUERY)


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _string(node: Node) -> str | None:
    """A string literal's value; None for a template literal with substitutions."""
    parts = []
    for child in node.named_children:
        if child.type == "string_fragment":
            parts.append(_text(child))
        elif child.type == "escape_sequence":
            escaped = _text(child)[1:]
            parts.append(_ESCAPES.get(escaped, escaped))
        else:
            return None
    return "".join(parts)


def _dotted(node: Node) -> str | None:
    """`a.b.c` as text; None when any part is not a name (a loop: chains can be long)."""
    parts: list[str] = []
    while node.type == "member_expression":
        owner, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if owner is None or prop is None:
            return None
        parts.append(_text(prop))
        node = owner
    if node.type != "identifier":
        return None
    parts.append(_text(node))
    return ".".join(reversed(parts))


class _Names:
    """Aliases of the aws-dynamodb module (dotted) and names imported from it."""

    def __init__(self, imports: list[Node]) -> None:
        self.modules: set[str] = set()
        self.members: dict[str, str] = {}
        for statement in imports:
            for clause in statement.named_children:
                if clause.type == "import_require_clause":
                    source = clause.named_children[-1]
                    if _string(source) == MODULE:
                        self.modules.add(_text(clause.named_children[0]))
            source_node = statement.child_by_field_name("source")
            source = _string(source_node) if source_node is not None else None
            if source in (MODULE, LIBRARY):
                for clause in statement.named_children:
                    if clause.type == "import_clause":
                        self._clause(clause, source == MODULE)

    def _clause(self, clause: Node, from_module: bool) -> None:
        suffix = "" if from_module else ".aws_dynamodb"
        for part in clause.named_children:
            if part.type == "identifier":  # a default import
                self.modules.add(_text(part) + suffix)
            elif part.type == "namespace_import":
                self.modules.add(_text(part.named_children[-1]) + suffix)
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type != "import_specifier":
                        continue
                    name = _text(spec.named_children[0])
                    local = _text(spec.named_children[-1])
                    if from_module:
                        self.members[local] = name
                    elif name == "aws_dynamodb":
                        self.modules.add(local)

    def exported(self, node: Node) -> str | None:
        """The aws-dynamodb export a constructor expression names, else None."""
        if node.type == "identifier":
            return self.members.get(_text(node))
        if node.type == "member_expression":
            owner, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
            if owner is not None and prop is not None and _dotted(owner) in self.modules:
                return _text(prop)
        return None


def _number(text: str) -> int | float | None:
    text = text.replace("_", "")
    try:
        return int(text, 0)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _value(node: Node, depth: int = 0) -> Value:
    if depth > MAX_LITERAL_DEPTH:
        return NonLiteral.of(_text(node))
    kind = node.type
    while kind in _WRAPPERS or kind == "type_assertion":
        inner = node.named_children[-1] if kind == "type_assertion" else node.named_children[0]
        node, kind = inner, inner.type
    if kind in ("string", "template_string") and (text := _string(node)) is not None:
        return text
    if kind in ("true", "false"):
        return kind == "true"
    if kind in ("null", "undefined"):
        return None
    if kind == "number" and (number := _number(_text(node))) is not None:
        return number
    if kind == "unary_expression" and _text(node.children[0]) == "-":
        operand = node.named_children[0]
        if operand.type == "number" and (number := _number(_text(operand))) is not None:
            return -number
    if kind == "array" and all(child.type != "spread_element" for child in node.named_children):
        return [_value(child, depth + 1) for child in node.named_children if child.type != "comment"]
    if kind == "object":
        return _object(node, depth)
    if kind == "member_expression" and (dotted := _dotted(node)):
        owner, _, name = dotted.rpartition(".")
        if owner and name.isupper():
            return Member(owner.rpartition(".")[2], name)
    return NonLiteral.of(_text(node))


def _key(node: Node) -> str | None:
    if node.type in ("property_identifier", "number"):
        return _text(node)
    if node.type == "string":
        return _string(node)
    return None


def _object(node: Node, depth: int = 0) -> Props:
    """An object literal; a spread, or a computed key, may set any prop."""
    entries: list[tuple[str | None, Value]] = []
    for child in node.named_children:
        if child.type == "pair":
            key_node, value_node = child.child_by_field_name("key"), child.child_by_field_name("value")
            key = _key(key_node) if key_node is not None else None
            if key is None or value_node is None:
                entries.append((None, NonLiteral.of(_text(child))))
            else:
                entries.append((key, _value(value_node, depth + 1)))
        elif child.type == "shorthand_property_identifier":
            entries.append((_text(child), NonLiteral.of(_text(child))))
        elif child.type == "spread_element":
            entries.append((None, NonLiteral.of(_text(child))))
        elif child.type == "method_definition" and (name := child.child_by_field_name("name")):
            entries.append((_text(name), NonLiteral.of(_text(child))))
    return build_props(entries, spread_overrides=True)


def _construct(kind: str, new: Node, arguments: Node) -> ConstructCall:
    args = [child for child in arguments.named_children if child.type != "comment"]
    construct_id = _value(args[1]) if len(args) > 1 else None
    props: Props | NonLiteral = Props()
    if len(args) > 2:
        value = _value(args[2])
        props = value if isinstance(value, Props) else NonLiteral.of(_text(args[2]))
    if any(arg.type == "spread_element" for arg in args):
        props = NonLiteral.of(_text(arguments))
    return ConstructCall(
        kind,
        construct_id if isinstance(construct_id, str) else None,
        new.start_point.row + 1,
        new.end_point.row + 1,
        props,
    )


def _first_error(node: Node) -> Node:
    """The first ERROR or MISSING node below a tree that has an error (a loop: trees can
    be deep)."""
    while True:
        child = next((c for c in node.children if c.is_error or c.is_missing or c.has_error), None)
        if child is None or child.is_error or child.is_missing:
            return child or node
        node = child


def parse_typescript(text: str, *, tsx: bool = False) -> list[ConstructCall]:
    """The table construct calls of a module, in source order."""
    parser, query = _grammar(tsx)
    tree = parser.parse(text.encode("utf-8"))
    root = tree.root_node
    if root.has_error:
        error = _first_error(root)
        if error.is_missing:
            problem = f"missing `{error.type}`"
        else:
            problem = f"unexpected `{NonLiteral.of(_text(error)).text}`"
        raise SourceSyntaxError(error.start_point.row + 1, problem)
    imports: list[Node] = []
    constructs: list[tuple[Node, Node, Node]] = []
    for _, match in QueryCursor(query).matches(root):
        if "import" in match:
            imports.extend(match["import"])
        else:
            constructs.append((match["new"][0], match["constructor"][0], match["arguments"][0]))
    names = _Names(imports)
    found = [
        _construct(kind, new, arguments)
        for new, constructor, arguments in constructs
        if (kind := names.exported(constructor)) in TABLE_CLASSES
    ]
    return sorted(found, key=lambda construct: construct.line)
