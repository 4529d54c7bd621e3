"""Fail-closed evaluation of CloudFormation property values.

A value counts as safe only when it is provably safe before deploy. Intrinsics are
followed as far as the template alone allows: a condition built from literals is
evaluated, an `Fn::If` whose branches agree is that value; anything that depends on a
parameter, a resource or the deploy environment becomes `Unknown` with a reason that
names what it depends on.

Parsed documents are plain dicts (json, PyYAML, checkov's dict_node and jsii's resolved
values all are), so the hot paths test for dict and skip the slower Mapping ABC check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tablesafe.model import Judged, Unknown

NO_VALUE = "AWS::NoValue"


@dataclass(frozen=True, slots=True)
class TemplateContext:
    """What a value may refer to: the template's parameters and conditions."""

    parameters: frozenset[str] = frozenset()
    conditions: Mapping[str, Any] = field(default_factory=dict)
    evaluated: dict[str, bool | Unknown] = field(default_factory=dict, compare=False, repr=False)
    """Each condition's value, computed once per template (see evaluate_condition)."""
    reads: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    """The parameters each evaluated condition reads, its own and through the conditions it names."""

    @classmethod
    def of(cls, template: Mapping[str, Any]) -> TemplateContext:
        parameters = template.get("Parameters")
        conditions = template.get("Conditions")
        return cls(
            parameters=frozenset(k for k in parameters if isinstance(k, str))
            if isinstance(parameters, Mapping)
            else frozenset(),
            conditions=conditions if isinstance(conditions, Mapping) else {},
        )


def intrinsic_call(value: Any) -> tuple[str, Any] | None:
    """(function name, argument) when value is one intrinsic function call, else None."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" or key == "Condition" or (isinstance(key, str) and key.startswith("Fn::")):
            return key, arg
    return None


def _ref_reason(name: Any, ctx: TemplateContext) -> str:
    if isinstance(name, str) and name in ctx.parameters:
        return f"depends on parameter {name}"
    if isinstance(name, str) and name.startswith("AWS::"):
        return f"depends on the pseudo parameter {name}"
    return f"refers to {display(name)}"


def _references(expr: Any) -> tuple[set[str], set[str]]:
    """The conditions (`Condition`, and the first argument of `Fn::If`) and the names of
    `Ref` an expression holds."""
    conditions: set[str] = set()
    refs: set[str] = set()
    stack = [expr]
    visited: set[int] = set()  # YAML aliases can share a structure many times
    while stack:
        item = stack.pop()
        if id(item) in visited:
            continue
        visited.add(id(item))
        key, arg = intrinsic_call(item) or (None, None)
        if key in ("Condition", "Ref") and isinstance(arg, str):
            (conditions if key == "Condition" else refs).add(arg)
            continue
        if key == "Fn::If" and isinstance(arg, list) and arg and isinstance(arg[0], str):
            conditions.add(arg[0])
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return conditions, refs


def evaluate_condition(name: Any, ctx: TemplateContext) -> bool | Unknown:
    """Evaluate a named condition when it is built from literals only."""
    if not isinstance(name, str) or name not in ctx.conditions:
        return Unknown(f"depends on the undefined condition {display(name)}")
    if name not in ctx.evaluated:
        _evaluate_conditions(name, ctx)
    return ctx.evaluated[name]


def _evaluate_conditions(name: str, ctx: TemplateContext) -> None:
    """Evaluate name and every condition it depends on, dependencies first, each once, with
    a stack of its own: a chain of 5,000 conditions naming the next is read in linear time,
    not at Python's recursion limit, and conditions that each name the next one twice in 2n
    evaluations, not 2**n. While a condition is evaluated its entry says it refers to
    itself, which is what a condition of a cycle then reads."""
    references: dict[str, tuple[set[str], set[str]]] = {}
    stack = [(name, False)]
    while stack:
        current, dependencies_done = stack.pop()
        if not dependencies_done:
            if current in ctx.evaluated:  # evaluated already, or open: a cycle
                continue
            ctx.evaluated[current] = Unknown(f"depends on condition {current}, which refers to itself")
            references[current] = _references(ctx.conditions[current])
            stack.append((current, True))
            named = sorted(
                c for c in references[current][0] if c in ctx.conditions and c not in ctx.evaluated
            )
            stack.extend((c, False) for c in reversed(named))  # in name order: the same result every run
            continue
        conditions, refs = references[current]
        reads = frozenset(refs & ctx.parameters).union(*(ctx.reads.get(c, ()) for c in conditions))
        ctx.reads[current] = reads
        value = _evaluate_condition_expr(ctx.conditions[current], ctx)
        if isinstance(value, Unknown):
            via = f" (which depends on parameter {', '.join(sorted(reads))})" if reads else ""
            value = Unknown(f"depends on condition {current}{via}")
        ctx.evaluated[current] = value


def _evaluate_condition_expr(expr: Any, ctx: TemplateContext) -> bool | Unknown:
    """One condition's expression; the conditions it names are evaluated already (or open)."""
    intrinsic = intrinsic_call(expr)
    if intrinsic is None:
        return expr if isinstance(expr, bool) else Unknown("not a condition")
    key, arg = intrinsic
    if key == "Condition":
        return evaluate_condition(arg, ctx)
    if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
        left, right = (resolve(item, ctx) for item in arg)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return Unknown("compares a value known only at deploy")
        return _scalar_text(left) == _scalar_text(right)
    if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
        inner = _evaluate_condition_expr(arg[0], ctx)
        return inner if isinstance(inner, Unknown) else not inner
    if key in ("Fn::And", "Fn::Or") and isinstance(arg, list) and arg:
        results = [_evaluate_condition_expr(item, ctx) for item in arg]
        decisive = key == "Fn::Or"  # True decides an Or, False decides an And
        if decisive in results:
            return decisive
        unknown = next((r for r in results if isinstance(r, Unknown)), None)
        return unknown if unknown is not None else not decisive
    return Unknown(f"uses {key}")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve(value: Any, ctx: TemplateContext) -> Any:
    """The literal a value provably has, None when it is absent, or Unknown."""
    if type(value) is not dict or len(value) != 1:
        return value  # not an intrinsic call: the common case, decided without a call
    intrinsic = intrinsic_call(value)
    if intrinsic is None:
        return value
    key, arg = intrinsic
    if key == "Ref":
        return None if arg == NO_VALUE else Unknown(_ref_reason(arg, ctx))
    if key == "Fn::If":
        if not (isinstance(arg, list) and len(arg) == 3):
            return Unknown("uses a malformed Fn::If")
        condition = evaluate_condition(arg[0], ctx)
        if not isinstance(condition, Unknown):
            return resolve(arg[1] if condition else arg[2], ctx)
        when_true, when_false = resolve(arg[1], ctx), resolve(arg[2], ctx)
        if not isinstance(when_true, Unknown) and _same(when_true, when_false):
            return when_true
        return condition
    return Unknown(f"is computed with {key}")


def _same(left: Any, right: Any) -> bool:
    try:
        return bool(left == right) and type(left) is type(right)
    except Exception:
        return False


def judge_bool(value: Any, ctx: TemplateContext) -> Judged:
    """A boolean property; "true"/"false" strings count as CloudFormation reads them."""
    resolved = resolve(value, ctx)
    if resolved is None or isinstance(resolved, (bool, Unknown)):
        return resolved
    if isinstance(resolved, str) and resolved.strip().lower() in ("true", "false"):
        return resolved.strip().lower() == "true"
    return Unknown(f"is {display(resolved)}, not a boolean")


_MAX_DIGITS = 18
_WHOLE_NUMBER = re.compile(rf"[0-9]{{1,{_MAX_DIGITS}}}")
"""A number CloudFormation reads from a string: ASCII digits ("²" and "٣" are digits to
str.isdigit, not to int() or CloudFormation), short enough that int() is instant."""


def judge_int(value: Any, ctx: TemplateContext) -> int | Unknown | None:
    resolved = resolve(value, ctx)
    if resolved is None or isinstance(resolved, Unknown):
        return resolved
    if isinstance(resolved, int) and not isinstance(resolved, bool) and abs(resolved) < 10**_MAX_DIGITS:
        return resolved
    if isinstance(resolved, str) and _WHOLE_NUMBER.fullmatch(resolved.strip()):
        return int(resolved.strip())
    return Unknown(f"is {display(resolved)}, not a whole number of at most {_MAX_DIGITS} digits")


def judge_str(value: Any, ctx: TemplateContext) -> str | Unknown | None:
    resolved = resolve(value, ctx)
    if resolved is None or isinstance(resolved, (str, Unknown)):
        return resolved
    return Unknown(f"is {display(resolved)}, not a string")


def judge_mapping(value: Any, ctx: TemplateContext) -> Mapping[str, Any] | Unknown | None:
    resolved = resolve(value, ctx)
    if resolved is None or isinstance(resolved, (dict, Unknown)):
        return resolved
    return Unknown(f"is {display(resolved)}, not a mapping")


_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def display(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of a template value for messages.

    The JSON is encoded lazily and cut at the limit, so a huge value (an alias bomb, a
    deep nest) costs no more than its first few chunks."""
    intrinsic = intrinsic_call(value)
    if intrinsic and intrinsic[0] == "Ref" and isinstance(intrinsic[1], str):
        return "${" + intrinsic[1] + "}"
    if isinstance(value, str):
        text = value
    else:
        chunks: list[str] = []
        length = 0
        try:
            for chunk in _ENCODER.iterencode(value):
                chunks.append(chunk)
                length += len(chunk)
                if length > limit:
                    break
        except (ValueError, RecursionError):  # a cycle, an integer over the digit limit
            chunks = [type(value).__name__]
        text = "".join(chunks)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def brief(value: Any) -> str:
    """repr() of a short value, display() of a long one: for messages that quote input."""
    return repr(display(value)) if isinstance(value, str) else display(value)
