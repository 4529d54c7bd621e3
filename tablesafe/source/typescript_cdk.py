"""Table construct calls in a TypeScript CDK source file, read with tree-sitter.

tree-sitter-typescript is a real parser (the grammar editors use), so comments, strings
and template literals are never mistaken for code. A `new X(...)` counts only when X goes
through a name bound to aws-cdk-lib's aws-dynamodb: `import * as ddb from
'aws-cdk-lib/aws-dynamodb'`, `import { Table, TableV2 as T2 } from
'aws-cdk-lib/aws-dynamodb'`, `import ddb = require('aws-cdk-lib/aws-dynamodb')`,
`import { aws_dynamodb as ddb } from 'aws-cdk-lib'` or `import * as cdk from
'aws-cdk-lib'` (`cdk.aws_dynamodb.Table`). CommonJS `require()` calls are not followed.

Statements that change a table after its `new` are followed when its result is assigned
to a name (`const t = new ...`, `this.t = new ...`): `t.applyRemovalPolicy(...)`,
`t.cfnOptions.deletionPolicy = ...`, `t.addMetadata('tablesafe', ...)` (also through
`t.node.defaultChild`, and `t.node.addMetadata`, which never reaches the template) and the
`suppress(t, ...)` helper of @tablesafe/cdk.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor

from tablesafe.source.calls import (
    CONSTRUCT_CLASSES,
    DELETED,
    MAX_LITERAL_DEPTH,
    RAW_OVERRIDES,
    REMOVAL_POLICY,
    SUPPRESSION_MARK,
    TYPESCRIPT_LIBRARIES,
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
    is_library,
    l1_owner,
    metadata_target,
    pascal,
    suppress_callee,
)
from tablesafe.source.lines import Lines, typescript_lines
from tablesafe.suppressions import METADATA_KEY

MODULE = "aws-cdk-lib/aws-dynamodb"
LIBRARY = "aws-cdk-lib"
HELPERS = "@tablesafe/cdk"
"""The npm package of the `suppress()` helper."""
_QUERY = """
(import_statement) @import
(new_expression constructor: (_) @constructor arguments: (arguments) @arguments) @new
(expression_statement (call_expression function: (_) @function arguments: (arguments) @arguments) @call)
(expression_statement (assignment_expression left: (member_expression) @left right: (_) @right) @assign)
(variable_declarator name: (_) @alias value: (_) @aliased)
"""
_CFN_POLICIES = ("deletionPolicy", "updateReplacePolicy")
_BRANCHES = frozenset(
    {
        "if_statement",
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "switch_statement",
    }
)
"""Statements whose body may run or not, or many times, depending on the app."""
_WRAPPERS = frozenset(
    {"as_expression", "satisfies_expression", "non_null_expression", "parenthesized_expression"}
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


@cache
def _grammar(tsx: bool) -> tuple[Parser, Query, Query]:
    """The parser, the query for imports, constructs and effects, and the comment query."""
    language = Language(
        tree_sitter_typescript.language_tsx() if tsx else tree_sitter_typescript.language_typescript()
    )
    return Parser(language), Query(language, _QUERY), Query(language, "(comment) @comment")


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


def _unwrap(node: Node) -> Node:
    """The expression inside `as`, `satisfies`, `!`, parentheses and `<T>` assertions."""
    while node.type in _WRAPPERS or node.type == "type_assertion":
        node = node.named_children[-1] if node.type == "type_assertion" else node.named_children[0]
    return node


def _dotted(node: Node) -> str | None:
    """`a.b.c` (or `this.a`) as text; None when any part is not a name (a loop: chains can
    be long)."""
    parts: list[str] = []
    node = _unwrap(node)
    while node.type == "member_expression":
        owner, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if owner is None or prop is None:
            return None
        parts.append(_text(prop))
        node = _unwrap(owner)
    if node.type not in ("identifier", "this"):
        return None
    parts.append(_text(node))
    return ".".join(reversed(parts))


class _Names:
    """Aliases of the aws-dynamodb module (dotted) and names imported from it."""

    def __init__(self, imports: list[Node]) -> None:
        self.modules: set[str] = set()
        self.members: dict[str, str] = {}
        self.helper_modules: set[str] = set()
        """Names bound to @tablesafe/cdk (`tablesafe.suppress(...)`)."""
        self.suppress: set[str] = set()
        """Names bound to its suppress() helper."""
        self.libraries: list[str] = []
        for statement in imports:
            for clause in statement.named_children:
                if clause.type == "import_require_clause":
                    required = _string(clause.named_children[-1]) or ""
                    self._module(required, _text(clause.named_children[0]))
            source_node = statement.child_by_field_name("source")
            source = (_string(source_node) or "") if source_node is not None else ""
            if is_library(source, TYPESCRIPT_LIBRARIES):
                self.libraries.append(source)
            for clause in statement.named_children:
                if clause.type != "import_clause":
                    continue
                if source in (MODULE, LIBRARY):
                    self._clause(clause, source == MODULE)
                elif source == HELPERS:
                    self._helpers(clause)

    def _module(self, source: str, local: str) -> None:
        """`import local = require(source)`."""
        if source == MODULE:
            self.modules.add(local)
        elif source == HELPERS:
            self.helper_modules.add(local)
        elif is_library(source, TYPESCRIPT_LIBRARIES):
            self.libraries.append(source)

    def _helpers(self, clause: Node) -> None:
        for part in clause.named_children:
            if part.type == "namespace_import":
                self.helper_modules.add(_text(part.named_children[-1]))
            elif part.type == "named_imports":
                self.suppress.update(
                    _text(spec.named_children[-1])
                    for spec in part.named_children
                    if spec.type == "import_specifier" and _text(spec.named_children[0]) == "suppress"
                )

    def is_suppress(self, node: Node) -> bool:
        """node names the suppress() helper of @tablesafe/cdk."""
        if node.type == "identifier":
            return _text(node) in self.suppress
        owner, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        return (
            node.type == "member_expression"
            and owner is not None
            and prop is not None
            and (_text(prop) == "suppress" and _dotted(owner) in self.helper_modules)
        )

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
    node = _unwrap(node)
    kind = node.type
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


def _arguments(arguments: Node) -> list[Node]:
    return [child for child in arguments.named_children if child.type != "comment"]


def _variable(new: Node) -> str | None:
    """The name `new` is assigned to: `const t = new ...`, `this.t = new ... as T`."""
    node = new
    while node.parent is not None and (node.parent.type in _WRAPPERS or node.parent.type == "type_assertion"):
        node = node.parent
    parent = node.parent
    if parent is None:
        return None
    if parent.type == "variable_declarator" and parent.child_by_field_name("value") == node:
        name = parent.child_by_field_name("name")
        return _text(name) if name is not None and name.type == "identifier" else None
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
        left = parent.child_by_field_name("left")
        return _dotted(left) if left is not None else None
    return None


def line_span(node: Node, lines: Lines[bytes]) -> tuple[int, int]:
    """The first and last line of node in the file's line model (tree-sitter's rows count
    only \n, ECMAScript also \r, U+2028 and U+2029)."""
    return lines.line_of(node.start_byte), lines.line_of(max(node.start_byte, node.end_byte - 1))


def _branch_around(node: Node, lines: Lines[bytes]) -> tuple[int, int, NonLiteral] | None:
    """(first line, last line, header) of the innermost branch or loop around node (a loop
    over its ancestors, as deep as the statement nests)."""
    parent = node.parent
    while parent is not None and parent.type not in _BRANCHES:
        parent = parent.parent
    if parent is None:
        return None
    first, last = line_span(parent, lines)
    end = min(lines.end(first), parent.end_byte)
    header = lines.text[parent.start_byte : end].decode("utf-8", "replace")
    return first, last, NonLiteral.of(header)


def _span(node: Node) -> tuple[int, int] | None:
    """The bytes of a literal --fix may rewrite: a string, a boolean, or an enum member's
    name (`RemovalPolicy.DESTROY`: `DESTROY`)."""
    node = _unwrap(node)
    if node.type in ("string", "true", "false"):
        return node.start_byte, node.end_byte
    if node.type == "member_expression" and (member := node.child_by_field_name("property")):
        return (member.start_byte, member.end_byte) if _text(member).isupper() else None
    return None


def _call_effect(function: Node, arguments: Node, names: _Names, lines: Lines[bytes]) -> Effect | None:
    """`t.applyRemovalPolicy(p)`, `t.addMetadata('tablesafe', {...})`, a raw override
    (`addPropertyOverride(path, value)` and its kin) or `suppress(t, ...)`."""
    line = lines.line_of(function.start_byte)
    args = _arguments(arguments)
    if function.type == "member_expression" and (receiver := function.child_by_field_name("object")):
        method = _text(function.child_by_field_name("property") or function)
        name = _dotted(receiver)
        if method == "applyRemovalPolicy" and name and args:
            override = Override(REMOVAL_POLICY, _value(args[0]), line, method, span=_span(args[0]))
            return Effect(l1_owner(name), line, override=override)
        if method in RAW_OVERRIDES and name and args:
            return _raw_override(l1_owner(name), method, args, line)
        if method == "addMetadata" and name and len(args) == 2 and _value(args[0]) == METADATA_KEY:
            target, written_as = metadata_target(name, method)
            block = _value(args[1])
            entries = block.get("suppress") if isinstance(block, Props) else block
            return Effect(target, line, suppression=SuppressionCall(line, entries, written_as))
    if names.is_suppress(function) and args:
        construct = _unwrap(args[0])
        keys = ("id", "reason", "expires")
        entry = Props({key: _value(arg) for key, arg in zip(keys, args[1:], strict=False)})
        target = (
            lines.line_of(construct.start_byte) if construct.type == "new_expression" else _dotted(construct)
        )
        suppression = SuppressionCall(line, [entry], "suppress()")
        return Effect(target, line, suppression=suppression) if target is not None else None
    return None


def _raw_override(name: str, method: str, args: list[Node], line: int) -> Effect | None:
    """`addOverride(path, value)` and its kin (calls.RAW_OVERRIDES): a literal string path,
    the value as CloudFormation writes it."""
    properties, takes_value = RAW_OVERRIDES[method]
    if len(args) < 1 + takes_value:
        return None
    written = _value(args[0])
    path = (*(("Properties",) if properties else ()), *written.split(".")) if isinstance(written, str) else ()
    value: Value | Deleted = DELETED
    span = None
    if takes_value:
        value = _value(args[1]) if path else NonLiteral.of(_text(args[0]))
        span = _span(args[1])
    return Effect(name, line, override=Override(path, value, line, method, raw=True, span=span))


def _assignment_effect(left: Node, right: Node, lines: Lines[bytes]) -> Effect | None:
    """`t.cfnOptions.deletionPolicy = ...` (or updateReplacePolicy)."""
    owner, prop = left.child_by_field_name("object"), left.child_by_field_name("property")
    if owner is None or prop is None or _text(prop) not in _CFN_POLICIES:
        return None
    name = _dotted(owner)
    if name is None or not name.endswith(".cfnOptions"):
        return None
    line = lines.line_of(left.start_byte)
    written_as = f"cfnOptions.{_text(prop)}"
    override = Override((pascal(_text(prop)),), _value(right), line, written_as, span=_span(right))
    return Effect(l1_owner(name.removesuffix(".cfnOptions")), line, override=override)


def _alias_effect(name: Node, value: Node, lines: Lines[bytes]) -> Effect | None:
    """`const cfn = t.node.defaultChild as CfnTable`: cfn is another name for t's L1."""
    source = _dotted(value)
    if name.type != "identifier" or source is None or (owner := l1_owner(source)) == source:
        return None
    return Effect(owner, lines.line_of(name.start_byte), alias=_text(name))


def _construct(kind: str, new: Node, arguments: Node, lines: Lines[bytes]) -> ConstructCall:
    args = _arguments(arguments)
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
        *line_span(new, lines),
        props,
        _variable(new),
        scope=_dotted(args[0]) if args else None,
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
    return read_typescript(text, tsx=tsx).calls


def read_typescript(text: str, *, tsx: bool = False) -> SourceFile:
    """The table construct calls of a module in source order, with what later statements do
    to them, and the construct libraries it imports."""
    parser, query, comment_query = _grammar(tsx)
    source = text.encode("utf-8")
    lines = typescript_lines(source)
    tree = parser.parse(source)
    root = tree.root_node
    if root.has_error:
        error = _first_error(root)
        if error.is_missing:
            problem = f"missing `{error.type}`"
        else:
            problem = f"unexpected `{NonLiteral.of(_text(error)).text}`"
        raise SourceSyntaxError(lines.line_of(error.start_byte), problem)
    imports: list[Node] = []
    constructs: list[tuple[Node, Node, Node]] = []
    calls: list[tuple[Node, Node]] = []
    assignments: list[tuple[Node, Node]] = []
    aliases: list[tuple[Node, Node]] = []
    for _, match in QueryCursor(query).matches(root):
        if "import" in match:
            imports.extend(match["import"])
        elif "new" in match:
            constructs.append((match["new"][0], match["constructor"][0], match["arguments"][0]))
        elif "call" in match:
            calls.append((match["function"][0], match["arguments"][0]))
        elif "alias" in match:
            aliases.append((match["alias"][0], match["aliased"][0]))
        else:
            assignments.append((match["left"][0], match["right"][0]))
    names = _Names(imports)
    found = [
        _construct(kind, new, arguments, lines)
        for new, constructor, arguments in constructs
        if (kind := names.exported(constructor)) in CONSTRUCT_CLASSES
    ]
    comments = _comments(root, lines, comment_query) if SUPPRESSION_MARK in text else ()
    imports_end = max((line_span(statement, lines)[1] for statement in imports), default=0)
    callee = suppress_callee(names.suppress, names.helper_modules)
    if not found:
        return SourceFile([], tuple(names.libraries), comments, callee, imports_end)
    written = [(effect, call) for call, args in calls if (effect := _call_effect(call, args, names, lines))]
    written += [
        (effect, left) for left, right in assignments if (effect := _assignment_effect(left, right, lines))
    ]
    written += [(effect, name) for name, value in aliases if (effect := _alias_effect(name, value, lines))]
    effects = [replace(effect, condition=_branch_around(node, lines)) for effect, node in written]
    calls_found = attach(sorted(found, key=lambda c: c.line), effects)
    return SourceFile(calls_found, tuple(names.libraries), comments, callee, imports_end)


def _comments(root: Node, lines: Lines[bytes], query: Query) -> tuple[Comment, ...]:
    """The comment nodes that hold the suppression mark (never a string or template text),
    each at the line of its mark: a block comment may span lines."""
    found = []
    for node in QueryCursor(query).captures(root).get("comment", []):
        text = node.text or b""
        mark = text.find(SUPPRESSION_MARK.encode())
        if mark < 0:
            continue
        line = lines.line_of(node.start_byte + mark)
        before = lines.text[lines.start(lines.line_of(node.start_byte)) : node.start_byte]
        span = (node.start_byte, node.end_byte)
        found.append(Comment(line, text.decode("utf-8", "replace"), alone=not before.strip(), span=span))
    return tuple(sorted(found, key=lambda comment: comment.line))
