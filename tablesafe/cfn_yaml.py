"""CloudFormation YAML with short-form intrinsic tags (`!Ref`, `!If`, `!GetAtt` ...).

A small PyYAML loader instead of cfn-lint's decoder: cfn-lint costs half a second to
import, PyYAML about 20 ms, and the check path is meant to be fast.

It is the one YAML loader of tablesafe (templates and `.tablesafe.yaml`), and it reads
untrusted text. Before PyYAML builds a node, libyaml's events are counted: a document of
more than MAX_NODES nodes (a 10 MB flow sequence `[a, a, ...]` would build 3 million nodes,
36 s and 1.8 GB), or nested deeper than the caller allows, is refused at that event. Aliases
may not expand a document by more than MAX_ALIAS_NODES nodes (an alias bomb of a few hundred
bytes otherwise expands to billions) nor contain themselves, and a scalar that PyYAML
cannot convert (an integer over Python's digit limit, a date like 2025-13-45) is a
YAMLError with its line, like any other syntax error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_FUNCTIONS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
    "ForEach",
)


class CloudFormationLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader that reads short-form tags as their long-form mappings."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(name: str):  # type: ignore[no-untyped-def]
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _construct(node, loader)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(node, loader)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
CloudFormationLoader.add_constructor("!GetAtt", _get_att)
for _function in _FUNCTIONS:
    CloudFormationLoader.add_constructor(f"!{_function}", _long_form(f"Fn::{_function}"))


MAX_ALIAS_NODES = 100_000
"""How many nodes aliases may add to a document beyond the nodes it writes out."""

_SCALAR_TYPES = ("int", "float", "timestamp", "binary")


_Constructor = Callable[[yaml.SafeLoader, yaml.Node], Any]


def _readable(construct: _Constructor, kind: str) -> _Constructor:
    """construct, with PyYAML's ValueError/TypeError turned into a ConstructorError at the
    node, so a bad scalar is reported like a syntax error instead of ending the run."""

    def guarded(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, TypeError, AttributeError) as error:
            limit = sys.get_int_max_str_digits()
            too_long = kind == "int" and limit and sum(c.isdigit() for c in str(node.value)) > limit
            reason = f"an integer of more than {limit} digits" if too_long else str(error)
            raise ConstructorError(
                None, None, f"cannot read this {kind}: {reason}", node.start_mark
            ) from None

    return guarded


for _kind in _SCALAR_TYPES:
    _tag = f"tag:yaml.org,2002:{_kind}"
    CloudFormationLoader.add_constructor(_tag, _readable(CloudFormationLoader.yaml_constructors[_tag], _kind))


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _check_aliases(root: yaml.Node) -> None:
    """Raise ConstructorError when aliases expand the document by more than
    MAX_ALIAS_NODES nodes, or make a node contain itself.

    The composed graph shares aliased nodes, so this walk is linear in the text; the
    sizes it adds up are those of the tree every later reader would walk."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            open_nodes.discard(id(node))
            size = sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > len(sizes) + MAX_ALIAS_NODES:
                raise ConstructorError(
                    None,
                    None,
                    f"aliases expand the document by more than {MAX_ALIAS_NODES:,} nodes (an alias bomb)",
                    node.start_mark,
                )
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise ConstructorError(None, None, "an alias refers to a node that contains it", node.start_mark)
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


MAX_NODES = 200_000
"""Nodes a document may write out (scalars, mappings, lists, aliases). A 1 MB template,
CloudFormation's limit, holds about 100,000; 200,000 nodes load in under a second and
100 MB."""


def _check_size(text: str, max_depth: int) -> None:
    """Raise ConstructorError at the event that makes the document more than MAX_NODES
    nodes or max_depth levels deep. Events are small and dropped as they are counted, so
    this pass costs a fraction of building the nodes it spares."""
    nodes = depth = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise ConstructorError(
                    None, None, f"mappings and lists nest more than {max_depth} levels deep", event.start_mark
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            continue
        elif not isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            continue
        nodes += 1
        if nodes > MAX_NODES:
            raise ConstructorError(
                None, None, f"the document has more than {MAX_NODES:,} nodes", event.start_mark
            )


def load(text: str, *, max_depth: int) -> Any:
    """Parse CloudFormation YAML nested at most max_depth levels; raises yaml.YAMLError on
    invalid input."""
    _check_size(text, max_depth)
    loader = CloudFormationLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # no anchor, no alias: skip the walk on the usual template
            _check_aliases(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
