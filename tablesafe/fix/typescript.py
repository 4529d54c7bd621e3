"""TypeScript CDK sources: planned edits as byte-range replacements found with tree-sitter.

Only the bytes of the entries that change are rewritten; a new entry goes after the last
one, on its own line with the same indentation when the object spans lines, so comments
and the file's layout stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from tablesafe.fix.plan import ENABLED, Edit, NewValue, PropsPath, Retain, Spec
from tablesafe.source.calls import ConstructCall, Props, camel
from tablesafe.source.lines import Lines, typescript_lines
from tablesafe.source.typescript_cdk import line_span

_WRAPPERS = frozenset(
    {"as_expression", "satisfies_expression", "non_null_expression", "parenthesized_expression"}
)
Change = tuple[int, int, bytes]
"""Replace source[start:end] with the bytes."""


class _NotFound(Exception):
    """The syntax does not hold what the plan expects; the call is left as it is."""


@cache
def _parser(tsx: bool) -> Parser:
    grammar = tree_sitter_typescript.language_tsx() if tsx else tree_sitter_typescript.language_typescript()
    return Parser(Language(grammar))


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _unwrap(node: Node) -> Node:
    """`{...} satisfies TableProps`, `(x as T)`, `<T>x`: the expression inside."""
    while node.type in _WRAPPERS or node.type == "type_assertion":
        node = node.named_children[-1] if node.type == "type_assertion" else node.named_children[0]
    return node


def _code(node: Node) -> list[Node]:
    return [child for child in node.named_children if child.type != "comment"]


def _key(entry: Node) -> str | None:
    """The prop an object entry writes (camelCase, as Props keys are); None for a spread or a
    computed key, which lint reads as a spread too."""
    if entry.type == "shorthand_property_identifier":
        return camel(_text(entry))
    name = entry.child_by_field_name("key") or entry.child_by_field_name("name")
    if name is None or name.type == "computed_property_name":
        return None
    if name.type == "string":
        return camel("".join(_text(part) for part in name.named_children))
    return camel(_text(name))


def _new_expressions(node: Node) -> Iterator[Node]:
    cursor = node.walk()
    while True:
        if cursor.node is not None and cursor.node.type == "new_expression":
            yield cursor.node
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            return


def _props_objects(root: Node, lines: Lines[bytes]) -> dict[tuple[int, int], list[Node]]:
    """The object literal of every `new` expression with one, by the `new`'s first and last
    line (found in one walk, so fixing a file stays linear in its tables)."""
    found: dict[tuple[int, int], list[Node]] = {}
    for new in _new_expressions(root):
        arguments = new.child_by_field_name("arguments")
        args = _code(arguments) if arguments is not None else []
        if len(args) > 2 and (props := _unwrap(args[2])).type == "object":
            found.setdefault(line_span(new, lines), []).append(props)
    return found


def _props_object(objects: dict[tuple[int, int], list[Node]], call: ConstructCall) -> Node | None:
    """The object literal of the `new` expression lint reported: same lines, same props."""
    assert isinstance(call.props, Props)
    for props in objects.get((call.line, call.end_line), []):
        if {_key(entry) for entry in _code(props)} - {None} == set(call.props.values):
            return props
    return None


def _entry(container: Node, key: str) -> Node | None:
    return next((entry for entry in _code(container) if _key(entry) == key), None)


def _value_node(entry: Node) -> Node:
    return entry.child_by_field_name("value") or entry  # a shorthand entry is its own value


def _container(props: Node, path: PropsPath) -> Node:
    """The object literal at path (keys, then list indexes for replicas)."""
    node = props
    for step in path:
        if isinstance(step, int) and node.type == "array" and step < len(elements := _code(node)):
            node = _unwrap(elements[step])
        elif isinstance(step, str) and node.type == "object" and (entry := _entry(node, step)):
            node = _unwrap(_value_node(entry))
        else:
            raise _NotFound
    if node.type != "object":
        raise _NotFound
    return node


def _render(value: NewValue, old: Node | None) -> str:
    if isinstance(value, Spec):
        enabled = "true" if value.enabled is True or old is None else _text(old)
        return f"{{ {ENABLED}: {enabled} }}"
    return str(value).lower()


def _line_end(source: bytes, offset: int) -> int:
    """Where the line holding offset ends (before its \\r\\n or \\n)."""
    end = source.find(b"\n", offset)
    end = len(source) if end < 0 else end
    return end - 1 if end > offset and source[end - 1 : end] == b"\r" else end


def _append(source: bytes, container: Node, entries: list[str]) -> list[Change]:
    """New entries after the last one: on lines of their own (same indentation, same
    trailing-comma habit) when the object spans lines, else inline."""
    written = _code(container)
    if not written:
        return [(container.start_byte, container.end_byte, f"{{ {', '.join(entries)} }}".encode())]
    last = written[-1]
    if container.end_point.row == last.end_point.row:
        return [(last.end_byte, last.end_byte, "".join(f", {entry}" for entry in entries).encode())]
    trailing_comma = any(
        child.type == "," and child.start_byte >= last.end_byte for child in container.children
    )
    line_start = source.rfind(b"\n", 0, last.start_byte) + 1
    indent = source[line_start : last.start_byte]
    if indent.strip():
        indent = indent[: len(indent) - len(indent.lstrip())]
    newline = b"\r\n" if source[line_start - 2 : line_start] == b"\r\n" else b"\n"
    lines = b"".join(newline + indent + entry.encode() + b"," for entry in entries)
    line_end = _line_end(source, last.end_byte)
    if trailing_comma:
        return [(line_end, line_end, lines)]
    if line_end == last.end_byte:
        return [(line_end, line_end, b"," + lines[:-1])]
    return [(last.end_byte, last.end_byte, b","), (line_end, line_end, lines[:-1])]


def _changes(source: bytes, props: Node, edits: list[Edit]) -> list[Change]:
    changes: list[Change] = []
    appended: dict[int, tuple[Node, list[str]]] = {}
    for edit in edits:
        container = _container(props, edit.container)
        entry = _entry(container, edit.replaces)
        if entry is None:
            if isinstance(edit.value, Retain):
                raise _NotFound
            new_entry = f"{edit.key}: {_render(edit.value, None)}"
            appended.setdefault(container.id, (container, []))[1].append(new_entry)
            continue
        old = _unwrap(_value_node(entry))
        if isinstance(edit.value, Retain):
            member = old.child_by_field_name("property")
            if member is None:
                raise _NotFound
            changes.append((member.start_byte, member.end_byte, b"RETAIN"))
        elif entry.type == "pair" and edit.key == edit.replaces:
            changes.append((old.start_byte, old.end_byte, _render(edit.value, old).encode()))
        else:
            new_entry = f"{edit.key}: {_render(edit.value, old)}"
            changes.append((entry.start_byte, entry.end_byte, new_entry.encode()))
    for container, entries in appended.values():
        changes += _append(source, container, entries)
    return changes


def render_typescript(
    text: str, planned: list[tuple[ConstructCall, list[Edit]]], *, tsx: bool
) -> tuple[str, list[Edit]]:
    """The fixed text, and the edits it holds (a call the syntax does not match is skipped)."""
    source = text.encode("utf-8")
    objects = _props_objects(_parser(tsx).parse(source).root_node, typescript_lines(source))
    changes: list[Change] = []
    applied: list[Edit] = []
    for call, edits in planned:
        props = _props_object(objects, call)
        if props is None:
            continue
        try:
            changes += _changes(source, props, edits)
        except _NotFound:
            continue
        applied += edits
    return _replaced(source, changes).decode("utf-8"), applied


def _replaced(source: bytes, changes: list[Change]) -> bytes:
    """source with each change made, in one pass (changes do not overlap)."""
    parts: list[bytes] = []
    done = 0
    for start, end, replacement in sorted(changes, key=lambda change: change[:2]):
        parts += [source[done:start], replacement]
        done = end
    return b"".join([*parts, source[done:]])
