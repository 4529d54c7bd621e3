"""TypeScript CDK sources: planned edits as byte-range replacements found with tree-sitter.

Only the bytes of the entries that change are rewritten; a new entry goes after the last
one, on its own line with the same indentation when the object spans lines, so comments
and the file's layout stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from tablesafe.fix.plan import ENABLED, Edit, Keep, NewValue, PropsPath, Retain, Spec
from tablesafe.fix.splice import Change, splice
from tablesafe.fix.style import Style
from tablesafe.source.calls import ConstructCall, Props, camel
from tablesafe.source.lines import Lines, typescript_lines
from tablesafe.source.typescript_cdk import line_span

_WRAPPERS = frozenset(
    {"as_expression", "satisfies_expression", "non_null_expression", "parenthesized_expression"}
)


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


_OPERANDS = frozenset(
    {"identifier", "member_expression", "call_expression", "subscript_expression", "non_null_expression"}
)
"""Expressions that bind tighter than `??`: no parentheses needed around them."""


def _render(value: NewValue, old: Node | None) -> str:
    """The new value's source; old is the value written in the entry replaced, as written."""
    if not isinstance(value, Spec):
        return str(value).lower()
    if value.enabled is True or old is None:
        enabled = "true"
    elif isinstance(value.enabled, Keep) and value.enabled.as_boolean:
        operand = _text(old) if old.type in _OPERANDS else f"({_text(old)})"
        enabled = f"{operand} ?? false"
    else:
        enabled = _text(old)
    return f"{{ {ENABLED}: {enabled} }}"


@dataclass(frozen=True, slots=True)
class _Layout:
    """The file's lines and the project's style, for where new entries go."""

    source: bytes
    lines: Lines[bytes]
    unit: bytes
    """One level of indentation."""
    line_length: int

    def indent(self, offset: int) -> bytes:
        """The leading whitespace of the line holding offset."""
        content = self.lines.content(self.lines.line_of(offset))
        return content[: len(content) - len(content.lstrip(b" \t"))]

    def newline(self, offset: int) -> bytes:
        """The ending of the line holding offset (a file may mix them), else the one before."""
        line = self.lines.line_of(offset)
        return self.lines.ending(line) or (self.lines.ending(line - 1) if line > 1 else b"") or b"\n"

    def starts_line(self, node: Node) -> bool:
        line_start = self.lines.start(self.lines.line_of(node.start_byte))
        return not self.source[line_start : node.start_byte].strip()

    def columns(self, offset: int) -> int:
        return len(self.lines.content(self.lines.line_of(offset)).decode("utf-8", "replace"))


def _indent_unit(source: bytes, lines: Lines[bytes], style: Style) -> bytes:
    """The project's indentation (prettier's), else the file's: a tab, or the smallest
    indentation of its first 1,000 lines (2 spaces when none is indented)."""
    if style.indent is not None:
        return style.indent.encode()
    widths = []
    for line in range(1, min(len(lines), 1000) + 1):
        content = lines.content(line)
        if content.startswith(b"\t"):
            return b"\t"
        width = len(content) - len(content.lstrip(b" "))
        if width and content.strip():
            widths.append(width)
    return b" " * min(widths, default=2)


def _append(
    layout: _Layout, container: Node, entries: list[str], inside: list[Change] | None
) -> list[Change]:
    """New entries after the last one: on lines of their own when the object spans lines
    (at the last entry's indentation when it starts its line, else one level in from the
    object's line), same trailing-comma habit, the line's own ending; inline in a one-line
    object. The construct's own props object (inside: the other changes in it) is laid out
    one entry per line when it would pass the line length."""
    written = _code(container)
    one_line = layout.lines.line_of(container.start_byte) == layout.lines.line_of(container.end_byte - 1)
    if not written or one_line:
        if written:
            start = end = written[-1].end_byte
            inline = "".join(f", {entry}" for entry in entries).encode()
        else:
            start, end = container.start_byte, container.end_byte
            inline = f"{{ {', '.join(entries)} }}".encode()
        columns = layout.columns(container.start_byte) + len(inline.decode()) - (end - start)
        commented = any(child.type == "comment" for child in container.named_children)
        if inside is None or columns <= layout.line_length or commented or not one_line:
            return [(start, end, inline)]
        kept = [_replaced_in(layout.source, node, inside) for node in written]
        return [_laid_out(layout, container, [*kept, *map(str.encode, entries)])]
    last = written[-1]
    newline = layout.newline(last.end_byte)
    if layout.starts_line(last):
        indent = layout.indent(last.start_byte)
    else:
        indent = layout.indent(container.start_byte) + layout.unit
    new_lines = b"".join(newline + indent + entry.encode() + b"," for entry in entries)
    trailing_comma = next(
        (child for child in container.children if child.type == "," and child.start_byte >= last.end_byte),
        None,
    )
    after = trailing_comma.end_byte if trailing_comma is not None else last.end_byte
    line_end = layout.lines.end(layout.lines.line_of(after))
    # the object closes on this line: the new lines go before its brace; else after the
    # line's trailing comment, if any
    hugging = layout.lines.line_of(container.end_byte - 1) == layout.lines.line_of(after)
    insert = after if hugging else line_end
    if trailing_comma is not None:
        return [(insert, insert, new_lines)]
    if insert == last.end_byte:
        return [(insert, insert, b"," + new_lines[:-1])]
    return [(last.end_byte, last.end_byte, b","), (insert, insert, new_lines[:-1])]


def _laid_out(layout: _Layout, container: Node, entries: list[bytes]) -> Change:
    """A one-line object rewritten one entry per line, as prettier writes it (the entries'
    text kept)."""
    newline = layout.newline(container.start_byte)
    indent = layout.indent(container.start_byte)
    body = b"".join(newline + indent + layout.unit + entry + b"," for entry in entries)
    return (container.start_byte, container.end_byte, b"{" + body + newline + indent + b"}")


def _changes(layout: _Layout, props: Node, edits: list[Edit]) -> list[Change]:
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
        written = _value_node(entry)
        old = _unwrap(written)
        if isinstance(edit.value, Retain):
            member = old.child_by_field_name("property")
            if member is None:
                raise _NotFound
            changes.append((member.start_byte, member.end_byte, b"RETAIN"))
        elif entry.type == "pair" and edit.key == edit.replaces:
            changes.append((written.start_byte, written.end_byte, _render(edit.value, written).encode()))
        else:
            new_entry = f"{edit.key}: {_render(edit.value, written)}"
            changes.append((entry.start_byte, entry.end_byte, new_entry.encode()))
    # the construct's own props last: laying them out takes in every change inside them
    for container, entries in sorted(appended.values(), key=lambda item: item[0] == props):
        inside = [change for change in changes if container.start_byte <= change[0] < container.end_byte]
        new = _append(layout, container, entries, inside if container == props else None)
        if new and new[0][:2] == (container.start_byte, container.end_byte):  # laid out: holds inside
            changes = [change for change in changes if change not in inside]
        changes += new
    return changes


def render_typescript(
    text: str, planned: list[tuple[ConstructCall, list[Edit]]], style: Style | None = None, *, tsx: bool
) -> tuple[str, list[Edit]]:
    """The fixed text, and the edits it holds (a call the syntax does not match is skipped)."""
    source = text.encode("utf-8")
    lines = typescript_lines(source)
    objects = _props_objects(_parser(tsx).parse(source).root_node, lines)
    style = style or Style()
    layout = _Layout(source, lines, _indent_unit(source, lines, style), style.line_length)
    changes: list[Change] = []
    applied: list[Edit] = []
    for call, edits in planned:
        props = _props_object(objects, call)
        if props is None:
            continue
        try:
            changes += _changes(layout, props, edits)
        except _NotFound:
            continue
        applied += edits
    return splice(source, changes).decode("utf-8"), applied


def _replaced_in(source: bytes, node: Node, changes: list[Change]) -> bytes:
    """A node's text with the changes inside it made."""
    return splice(source, changes, node.start_byte, node.end_byte)
