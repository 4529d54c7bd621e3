"""CloudFormation YAML with short-form intrinsic tags (`!Ref`, `!If`, `!GetAtt` ...).

A small PyYAML loader instead of cfn-lint's decoder: cfn-lint costs half a second to
import, PyYAML about 20 ms, and the check path is meant to be fast.
"""

from __future__ import annotations

from typing import Any

import yaml

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


def load(text: str) -> Any:
    """Parse CloudFormation YAML; raises yaml.YAMLError on invalid input."""
    return yaml.load(text, Loader=CloudFormationLoader)
