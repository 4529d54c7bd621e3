"""Python CDK sources: planned edits applied with libcst, which keeps every comment and
the layout of the code around them.

A new keyword argument (or dict entry) goes after the last one, on its own line with the
same indentation when the call spans lines. PointInTimeRecoverySpecification is named the
way the table's class is: through the same module alias (`dynamodb.`, `cdk.aws_dynamodb.`),
or imported from aws_cdk.aws_dynamodb next to `Table` when the file imports names from it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from tablesafe.fix.plan import ENABLED, Edit, Keep, NewValue, PropsPath, Retain, Spec
from tablesafe.fix.style import DEFAULT_LINE_LENGTH
from tablesafe.source.calls import ConstructCall, Props, camel
from tablesafe.source.lines import Lines, python_lines

MODULE = "aws_cdk.aws_dynamodb"
SPEC_CLASS = "PointInTimeRecoverySpecification"
_CONSTRUCTOR_ARGS = frozenset({"scope", "id"})
_CAPITAL = re.compile(r"[A-Z]")
_Node = TypeVar("_Node", bound=cst.CSTNode)
Container = cst.Call | cst.Dict | cst.ImportFrom
"""What holds comma-separated entries that --fix adds to: keyword arguments, dict entries,
imported names."""
Element = cst.Arg | cst.DictElement | cst.ImportAlias


class _NotFound(Exception):
    """The syntax does not hold what the plan expects; the call is left as it is."""


def snake(key: str) -> str:
    """pointInTimeRecoverySpecification -> point_in_time_recovery_specification."""
    return _CAPITAL.sub(lambda match: "_" + match.group().lower(), key)


def _no_space() -> cst.AssignEqual:
    return cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )


def _key(element: cst.BaseElement | cst.BaseDictElement | cst.Arg) -> str | None:
    """The prop an argument or dict entry writes (camelCase, as Props keys are)."""
    if isinstance(element, cst.Arg):
        return camel(element.keyword.value) if element.keyword else None
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        value = element.key.evaluated_value
        return camel(value) if isinstance(value, str) else None
    return None


def _elements(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    if isinstance(node, cst.Call):
        return node.args
    if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
        return node.names
    if isinstance(node, cst.Dict | cst.List | cst.Tuple):
        return node.elements
    raise _NotFound


def _with_elements(node: _Node, elements: list[cst.CSTNode]) -> _Node:
    field = (
        "args" if isinstance(node, cst.Call) else "names" if isinstance(node, cst.ImportFrom) else "elements"
    )
    return node.with_changes(**{field: elements})


# --- appending an entry in the layout of the others ---------------------------------------------


def _bare_line_end(whitespace: cst.ParenthesizedWhitespace) -> cst.TrailingWhitespace:
    """The end of the line whitespace starts on, without its comment: its own line ending
    (a file may mix them; a new line takes the ending of the line it is copied from)."""
    return cst.TrailingWhitespace(newline=whitespace.first_line.newline)


def _uncommented(whitespace: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(first_line=_bare_line_end(whitespace))
    return whitespace


def _separator(before_last: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """What separates the last entry from the one before: a line break with its indent, or
    one space."""
    if isinstance(before_last, cst.ParenthesizedWhitespace):
        return before_last.with_changes(first_line=_bare_line_end(before_last), empty_lines=[])
    return cst.SimpleWhitespace(" ")


_NO_MODULE = cst.Module(body=[])
_NO_SPACE = cst.SimpleWhitespace("")


def _code(node: cst.CSTNode) -> str:
    return _NO_MODULE.code_for_node(node)


def _spans_lines(node: cst.CSTNode) -> bool:
    code = _code(node)
    return "\n" in code or "\r" in code


def _line_break(indent: str, newline: str | None) -> cst.ParenthesizedWhitespace:
    """A line break, then indent (absolute, whatever the block's indentation)."""
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(newline=cst.Newline(newline)),
        empty_lines=[],
        indent=False,
        last_line=cst.SimpleWhitespace(indent),
    )


def _continued(
    after_last: cst.BaseParenthesizableWhitespace, separator: cst.BaseParenthesizableWhitespace
) -> cst.BaseParenthesizableWhitespace:
    """After the old last entry's comma: its own trailing comment, then the separator."""
    if isinstance(after_last, cst.ParenthesizedWhitespace) and isinstance(
        separator, cst.ParenthesizedWhitespace
    ):
        return after_last.with_changes(empty_lines=[], indent=separator.indent, last_line=separator.last_line)
    return after_last if isinstance(after_last, cst.ParenthesizedWhitespace) else separator


def _lead(node: Container) -> cst.BaseParenthesizableWhitespace:
    """The whitespace in front of the first entry."""
    if isinstance(node, cst.Call):
        return node.whitespace_before_args
    if isinstance(node, cst.ImportFrom):
        return node.lpar.whitespace_after if node.lpar else node.whitespace_after_import
    return node.lbrace.whitespace_after


def _before(node: Container, index: int) -> cst.BaseParenthesizableWhitespace:
    """The whitespace in front of the entry at index (a line break and indent, or spaces)."""
    previous = _elements(node)[index - 1].comma if index > 0 else None  # type: ignore[attr-defined]
    return previous.whitespace_after if isinstance(previous, cst.Comma) else _lead(node)


def _next_entry(node: Container) -> cst.BaseParenthesizableWhitespace:
    """The whitespace in front of an entry appended to node, in the layout of its entries."""
    count = len(_elements(node))
    return _separator(_before(node, count - 1)) if count else _lead(node)


def _append(
    node: Container, element: Element, separator: cst.BaseParenthesizableWhitespace | None = None
) -> Container:
    """node with element after its last entry, separated by separator (default: as the last
    two entries are)."""
    elements = list(_elements(node))
    if not elements:
        return _with_elements(node, [element])
    last = elements[-1]
    assert isinstance(last, cst.Arg | cst.DictElement | cst.StarredDictElement | cst.ImportAlias)
    separator = separator or _next_entry(node)
    if isinstance(last.comma, cst.Comma):
        after = last.comma.whitespace_after
        elements[-1] = last.with_changes(
            comma=last.comma.with_changes(whitespace_after=_continued(after, separator))
        )
        new_comma = last.comma.with_changes(whitespace_after=_uncommented(after))
        return _with_elements(node, [*elements, element.with_changes(comma=new_comma)])
    if isinstance(node, cst.Call):  # the space before `)` belongs to the last argument
        assert isinstance(last, cst.Arg)
        tail = last.whitespace_after_arg
        elements[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=_continued(tail, separator)),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        return _with_elements(
            node, [*elements, element.with_changes(whitespace_after_arg=_uncommented(tail))]
        )
    closing_field = "rbrace" if isinstance(node, cst.Dict) else "rpar"
    closing = getattr(node, closing_field)  # None for an import without parentheses
    tail = closing.whitespace_before if closing is not None else cst.SimpleWhitespace("")
    elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=_continued(tail, separator)))
    if closing is not None:
        node = node.with_changes(
            **{closing_field: closing.with_changes(whitespace_before=_uncommented(tail))}
        )
    return _with_elements(node, [*elements, element])


def _insert(node: Container, index: int, element: Element) -> Container:
    """element in front of the entry at index, separated from it as the entries are."""
    elements = list(_elements(node))
    if index == len(elements):
        return _append(node, element)
    separator = _separator(_before(node, index))
    elements.insert(index, element.with_changes(comma=cst.Comma(whitespace_after=separator)))
    return _with_elements(node, elements)


# --- the edits ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CallLine:
    """Where a construct call stands in the file, for the layout of what --fix adds."""

    indent: str
    """The leading whitespace of the call's first line."""
    newline: str | None
    """That line's ending (None: the file's first, which libcst writes by default)."""
    single_line: bool
    outside: int
    """How many characters of the call's line are not the call (before and after it)."""


class _Renderer:
    """The edits of one call at a time; imported is the local name of an existing import of
    PointInTimeRecoverySpecification from aws_cdk.aws_dynamodb."""

    def __init__(self, imported: str | None, indent: str, line_length: int) -> None:
        self.imported = imported
        self.indent = indent
        self.line_length = line_length
        self.call: cst.Call | None = None
        self.line = _CallLine("", None, single_line=False, outside=0)
        self.names_class = False
        """Whether the edits of the call name the class through an import."""

    def next_entry(self, node: Container) -> cst.BaseParenthesizableWhitespace:
        """The whitespace in front of a new entry: as between the entries when each has a
        line; on a line of its own when node spans lines but its entries share them (a call
        whose first props hug its opening line); one space on a single line."""
        count = len(_elements(node))
        if (
            count
            and not self.line.single_line  # then nothing in the call spans lines
            and not isinstance(_before(node, count - 1), cst.ParenthesizedWhitespace)
            and _spans_lines(node)
        ):
            return _line_break(self.line.indent + self.indent, self.line.newline)
        return _next_entry(node)

    def laid_out(self, call: cst.Call) -> cst.Call:
        """A call that was on one line and grew past the line length: one argument per
        line, as black and ruff format write it (and so is an argument that is a call still
        too long for its line)."""
        if not self.line.single_line or self.line.outside + len(_code(call)) <= self.line_length:
            return call
        return self._one_per_line(call, self.line.indent)

    def _one_per_line(self, call: cst.Call, indent: str) -> cst.Call:
        """call's arguments each on a line one level in from indent, with a trailing comma
        when there are several (ruff format and black write a lone argument without)."""
        inner = indent + self.indent
        last = len(call.args) - 1
        args = []
        for i, arg in enumerate(call.args):
            value = arg.value
            if (
                isinstance(value, cst.Call)
                and value.args
                and len(inner) + len(_code(arg)) + 1 > self.line_length
            ):
                arg = arg.with_changes(value=self._one_per_line(value, inner))
            if i < last or last:
                line_break = _line_break(inner if i < last else indent, self.line.newline)
                arg = arg.with_changes(
                    comma=cst.Comma(whitespace_after=line_break), whitespace_after_arg=_NO_SPACE
                )
            else:
                arg = arg.with_changes(
                    comma=cst.MaybeSentinel.DEFAULT,
                    whitespace_after_arg=_line_break(indent, self.line.newline),
                )
            args.append(arg)
        return call.with_changes(whitespace_before_args=_line_break(inner, self.line.newline), args=args)

    def spec_class(self) -> cst.BaseExpression:
        assert self.call is not None
        if isinstance(self.call.func, cst.Attribute):  # the module alias the table's class goes through
            return cst.Attribute(value=self.call.func.value, attr=cst.Name(SPEC_CLASS))
        self.names_class = True
        return cst.Name(self.imported or SPEC_CLASS)

    def value(
        self, value: NewValue, old: cst.BaseExpression | None, before: cst.BaseParenthesizableWhitespace
    ) -> cst.BaseExpression:
        """The new value of an entry; before is the whitespace in front of the entry, so that
        a specification written on its own line spans lines as a formatter would write it."""
        if isinstance(value, Retain):
            if not isinstance(old, cst.Attribute):
                raise _NotFound
            return old.with_changes(attr=cst.Name("RETAIN"))
        if not isinstance(value, Spec):
            return cst.Name(str(value))
        enabled: cst.BaseExpression = cst.Name("True") if value.enabled is True or old is None else old
        if isinstance(value.enabled, Keep) and value.enabled.as_boolean and old is not None:
            enabled = cst.Call(func=cst.Name("bool"), args=[cst.Arg(old)])  # see Keep
        argument = cst.Arg(keyword=cst.Name(snake(ENABLED)), equal=_no_space(), value=enabled)
        if not isinstance(before, cst.ParenthesizedWhitespace):
            return cst.Call(func=self.spec_class(), args=[argument])
        closing = before.with_changes(first_line=_bare_line_end(before), empty_lines=[])
        opening = closing.with_changes(last_line=cst.SimpleWhitespace(closing.last_line.value + self.indent))
        return cst.Call(
            func=self.spec_class(),
            args=[argument.with_changes(whitespace_after_arg=closing)],
            whitespace_before_args=opening,
        )

    def write(self, node: cst.BaseExpression, edit: Edit) -> cst.BaseExpression:
        """`key=value` over the entry edit.replaces, or appended."""
        if not isinstance(node, cst.Call | cst.Dict):
            raise _NotFound
        elements = list(_elements(node))
        index = next((i for i, element in enumerate(elements) if _key(element) == edit.replaces), None)  # type: ignore[arg-type]
        if index is None:
            separator = self.next_entry(node)
            new_value = self.value(edit.value, None, separator)
            if isinstance(node, cst.Call):
                argument = cst.Arg(keyword=cst.Name(snake(edit.key)), equal=_no_space(), value=new_value)
                return _append(node, argument, separator)
            entry = cst.DictElement(cst.SimpleString(f'"{snake(edit.key)}"'), new_value)
            return _append(node, entry, separator)
        element = elements[index]
        assert isinstance(element, cst.Arg | cst.DictElement)
        changes: dict[str, object] = {"value": self.value(edit.value, element.value, _before(node, index))}
        if edit.key != edit.replaces:
            name = snake(edit.key)
            if isinstance(element, cst.Arg):
                changes["keyword"] = cst.Name(name)
            else:
                quote = element.key.value[-1] if isinstance(element.key, cst.SimpleString) else '"'
                changes["key"] = cst.SimpleString(f"{quote}{name}{quote}")
        elements[index] = element.with_changes(**changes)
        return _with_elements(node, elements)

    def apply(self, node: cst.BaseExpression, edits: list[tuple[PropsPath, Edit]]) -> cst.BaseExpression:
        """The edits, each at its path below node (keys, then list indexes)."""
        deeper: dict[str | int, list[tuple[PropsPath, Edit]]] = {}
        for path, edit in edits:
            if path:
                deeper.setdefault(path[0], []).append((path[1:], edit))
        elements = list(_elements(node))
        for step, inner in deeper.items():
            index = _position(node, elements, step)
            element = elements[index]
            elements[index] = element.with_changes(value=self.apply(element.value, inner))  # type: ignore[attr-defined]
        node = _with_elements(node, elements) if deeper else node
        for path, edit in edits:
            if not path:
                node = self.write(node, edit)
        return node


def _position(node: cst.BaseExpression, elements: list[cst.CSTNode], step: str | int) -> int:
    """Where a path step is among node's elements: a prop of a call or dict, or a list index."""
    if isinstance(step, int) and isinstance(node, cst.List | cst.Tuple) and step < len(elements):
        return step
    if isinstance(step, str) and isinstance(node, cst.Call | cst.Dict):
        for index, element in enumerate(elements):
            if _key(element) == step:  # type: ignore[arg-type]
                return index
    raise _NotFound


class _Planned:
    """The planned calls by their lines, matched to libcst's nodes as the walk meets them:
    same first and last line, same keyword props (in one walk with the rewrite)."""

    def __init__(self, planned: list[tuple[ConstructCall, list[Edit]]]) -> None:
        self.wanted: dict[tuple[int, int], list[tuple[ConstructCall, list[Edit]]]] = {}
        for call, edits in planned:
            self.wanted.setdefault((call.line, call.end_line), []).append((call, edits))
        self.found: dict[cst.Call, tuple[list[Edit], CodeRange]] = {}

    def meet(self, node: cst.Call, span: CodeRange) -> None:
        candidates = self.wanted.get((span.start.line, span.end.line))
        if not candidates:
            return
        keys = {_key(arg) for arg in node.args} - {None} - _CONSTRUCTOR_ARGS
        for candidate in candidates:
            call, edits = candidate
            if isinstance(call.props, Props) and keys == set(call.props.values):
                self.found[node] = edits, span
                candidates.remove(candidate)
                return


def _module_imports(module: cst.Module) -> Iterator[cst.ImportFrom]:
    """The module-level `from aws_cdk.aws_dynamodb import ...` statements."""
    for statement in module.body:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
                and get_full_name_for_node(small.module) == MODULE
            ):
                yield small


def _imported_spec_class(module: cst.Module) -> str | None:
    """The local name of an existing import of the class."""
    for statement in _module_imports(module):
        if isinstance(statement.names, cst.ImportStar):
            return SPEC_CLASS
        for alias in statement.names:
            if alias.evaluated_name == SPEC_CLASS:
                return alias.evaluated_alias or SPEC_CLASS
    return None


def _isort_key(name: str) -> tuple[int, str]:
    """The order isort and ruff give imported names: CONSTANTS, Classes, functions."""
    return (0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2), name.lower()


def _with_spec_import(module: cst.Module) -> cst.Module:
    """The class added to the first `from aws_cdk.aws_dynamodb import ...`, where isort puts
    it (last when the names are not sorted); libcst adds a new import statement when the
    module has none."""
    statement = next((s for s in _module_imports(module) if not isinstance(s.names, cst.ImportStar)), None)
    if statement is None:
        context = CodemodContext()
        AddImportsVisitor.add_needed_import(context, MODULE, SPEC_CLASS)
        return AddImportsVisitor(context).transform_module(module)
    keys = [_isort_key(alias.evaluated_name) for alias in _elements(statement)]  # type: ignore[attr-defined]
    index = bisect.bisect(keys, _isort_key(SPEC_CLASS)) if keys == sorted(keys) else len(keys)
    extended = _insert(statement, index, cst.ImportAlias(cst.Name(SPEC_CLASS)))
    return cast(cst.Module, module.deep_replace(statement, extended))


def _call_line(lines: Lines[str], span: CodeRange, default_newline: str) -> _CallLine:
    """Where a call stands: its first line's indentation and ending, and whether it is on
    one line, with the characters of that line around it."""
    content = lines.content(span.start.line)
    ending = lines.ending(span.start.line)
    single_line = span.start.line == span.end.line
    return _CallLine(
        indent=content[: len(content) - len(content.lstrip(" \t"))],
        newline=None if ending in ("", default_newline) else ending,
        single_line=single_line,
        outside=len(content) - (span.end.column - span.start.column) if single_line else 0,
    )


def render_python(
    text: str, planned: list[tuple[ConstructCall, list[Edit]]], line_length: int = DEFAULT_LINE_LENGTH
) -> tuple[str, list[Edit]]:
    """The fixed text, and the edits it holds (a call the syntax does not match is skipped);
    a one-line call that grows past line_length is laid out one argument per line."""
    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)  # parsed for it alone
    positions = wrapper.resolve(PositionProvider)
    targets = _Planned(planned)
    module = wrapper.module
    renderer = _Renderer(_imported_spec_class(module), module.default_indent, line_length)
    lines = python_lines(text)
    applied: list[Edit] = []
    needs_import = False

    class Fixer(cst.CSTTransformer):
        def visit_Call(self, node: cst.Call) -> None:
            targets.meet(node, positions[node])

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            nonlocal needs_import
            target = targets.found.get(original_node)
            if target is None:
                return updated_node
            edits, span = target
            renderer.call, renderer.names_class = updated_node, False
            renderer.line = _call_line(lines, span, module.default_newline)
            try:
                fixed = renderer.laid_out(
                    renderer.apply(updated_node, [(edit.container, edit) for edit in edits])
                )
            except _NotFound:
                return updated_node
            applied.extend(edits)
            needs_import = needs_import or (renderer.names_class and renderer.imported is None)
            return fixed

    module = wrapper.module.visit(Fixer())
    return (_with_spec_import(module) if needs_import else module).code, applied
