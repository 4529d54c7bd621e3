"""What `tablesafe lint --fix` changes in one construct call, whatever the language.

The plan reads the same neutral `Props` lint judged (tablesafe.source.calls), so one set
of decisions serves Python and TypeScript; tablesafe.fix.python and
tablesafe.fix.typescript only render each `Edit` in their syntax. A value lint cannot
see (a variable, a call, a spread that may set the prop) is never planned over: its
finding stays for `tablesafe check` to judge.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from tablesafe.source.calls import (
    REMOVAL_POLICY,
    TABLE_CLASSES,
    ConstructCall,
    Deleted,
    Member,
    NonLiteral,
    Override,
    Props,
)
from tablesafe.source.describe import PROPERTY_PATHS, decisive_overrides, describe_call
from tablesafe.source.lines import Lines

SPEC = "pointInTimeRecoverySpecification"
ENABLED = "pointInTimeRecoveryEnabled"
DEPRECATED = "pointInTimeRecovery"
PROTECTION = "deletionProtection"
POLICY = "removalPolicy"
FIXABLE = frozenset({"TS001", "TS002", "TS003", "TS004"})
UNSAFE_POLICIES = frozenset({"DESTROY", "SNAPSHOT"})

PropsPath = tuple[str | int, ...]
"""From the construct's props to a nested props object: keys, and list indexes (replicas)."""
Target = tuple[str, str | None]
"""(rule id, replica region) of a finding on the call; region None for the table itself."""


@dataclass(frozen=True, slots=True)
class Keep:
    """The value of the entry being replaced (TS002 keeps it): as written when it is a
    literal; a value that is not (`props?.pitr`, `pitr`) is typed `boolean | undefined` /
    `Optional[bool]` for the deprecated prop, while the specification's field wants a
    boolean, so it is kept as one: `X ?? false` in TypeScript, `bool(X)` in Python, which
    enable PITR exactly when X did (tsc --strict and the jsii type checks both pass)."""

    as_boolean: bool = False

    def __repr__(self) -> str:
        return "KEEP_AS_BOOLEAN" if self.as_boolean else "KEEP"


class Retain:
    """The enum member written in the entry, renamed RETAIN (its qualifier kept)."""

    def __repr__(self) -> str:
        return "RETAIN"


KEEP = Keep()
KEEP_AS_BOOLEAN = Keep(as_boolean=True)
RETAIN = Retain()


@dataclass(frozen=True, slots=True)
class Spec:
    """A PointInTimeRecoverySpecification with only pointInTimeRecoveryEnabled."""

    enabled: bool | Keep


NewValue = bool | Spec | Retain


@dataclass(frozen=True, slots=True)
class Edit:
    """Write `key: value` into the props object at container: over the entry named
    replaces when it is written there (same place, same comments), else as a new entry."""

    container: PropsPath
    key: str
    value: NewValue
    replaces: str
    rules: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class _Layer:
    """The construct's props, or one replica's, with the region lint names it by."""

    path: PropsPath
    props: Props | None
    region: str | None


def _layers(call: ConstructCall) -> list[_Layer]:
    """The props objects in the order describe_call judges them: table, then replicas."""
    assert isinstance(call.props, Props)
    regions = [table.replica_region for table in describe_call(call, "")]
    replicas = call.props.get("replicas") if call.kind == "TableV2" else None
    found: list[tuple[PropsPath, Props | None]] = [((), call.props)]
    if isinstance(replicas, list):
        found += [(("replicas", i), r if isinstance(r, Props) else None) for i, r in enumerate(replicas)]
    return [_Layer(path, props, region) for (path, props), region in zip(found, regions, strict=False)]


def _owner(layers: list[_Layer], layer: _Layer, keys: tuple[str, ...], table_targeted: bool) -> _Layer:
    """The layer whose props decide a replica's setting: the replica when it sets one of
    keys itself, else the table, whose fix every inheriting replica shares, when the table's
    own finding is being fixed too (a suppressed table-level finding stays untouched)."""
    if layer.props is None or layer is layers[0] or any(layer.props.get(key) is not None for key in keys):
        return layer
    return layers[0] if table_targeted else layer


def _enable_pitr(layer: _Layer) -> Edit | None:
    props = layer.props
    if props is None:
        return None
    spec = props.get(SPEC)
    if isinstance(spec, Props):
        enabled = spec.get(ENABLED)
        return (
            Edit((*layer.path, SPEC), ENABLED, True, ENABLED) if enabled is None or enabled is False else None
        )
    if spec is not None or isinstance(props.get(DEPRECATED), NonLiteral):
        return None  # a specification lint cannot read, or a spread that may set one
    replaces = SPEC if SPEC in props.values else DEPRECATED if DEPRECATED in props.values else SPEC
    return Edit(layer.path, SPEC, Spec(True), replaces)


def _protect(layer: _Layer) -> Edit | None:
    if layer.props is None:
        return None
    value = layer.props.get(PROTECTION)
    return Edit(layer.path, PROTECTION, True, PROTECTION) if value is None or value is False else None


def _replace_deprecated(layer: _Layer) -> Edit | None:
    props = layer.props
    if props is None or DEPRECATED not in props.values or SPEC in props.values or props.get(SPEC) is not None:
        return None  # both props written, or a spread that may set the specification
    keep = KEEP_AS_BOOLEAN if isinstance(props.values[DEPRECATED], NonLiteral) else KEEP
    return Edit(layer.path, SPEC, Spec(keep), DEPRECATED)


def _retain(layer: _Layer) -> Edit | None:
    policy = layer.props.get(POLICY) if layer.props is not None else None
    if isinstance(policy, Member) and policy.enum == "RemovalPolicy" and policy.name in UNSAFE_POLICIES:
        return Edit(layer.path, POLICY, RETAIN, POLICY)
    return None


def plan_edits(call: ConstructCall, targets: Collection[Target]) -> list[Edit]:
    """The edits that fix the call's findings named by targets, where the values are literal.

    Two findings that need the same entry get one edit: TS001 on a deprecated
    `pointInTimeRecovery: false` and TS002 become one specification with PITR enabled. A
    replica's deprecated prop stays when the table sets a specification: that specification
    decides the replica's PITR now, and the replica's own would replace it."""
    if not isinstance(call.props, Props) or call.kind not in TABLE_CLASSES:
        return []  # L1 tables (CfnTable) spell their props as CloudFormation does: not fixed
    skipped = overridden(call)
    targets = [target for target in targets if target[0] not in skipped]
    layers = _layers(call)
    edits: dict[tuple[PropsPath, str], Edit] = {}

    def add(rule_id: str, edit: Edit | None) -> None:
        if edit is None:
            return
        earlier = edits.get((edit.container, edit.replaces))
        rules = frozenset({rule_id}) | (earlier.rules if earlier else frozenset())
        edits[(edit.container, edit.replaces)] = replace(edit, rules=rules)

    if ("TS002", None) in targets:
        table_spec = layers[0].props.get(SPEC) if layers[0].props is not None else None
        for layer in layers if table_spec is None else layers[:1]:
            add("TS002", _replace_deprecated(layer))
    for rule_id, keys, fix in (
        ("TS001", (SPEC, DEPRECATED), _enable_pitr),
        ("TS003", (PROTECTION,), _protect),
    ):
        for layer in layers:
            if (rule_id, layer.region) in targets:
                add(rule_id, fix(_owner(layers, layer, keys, (rule_id, None) in targets)))
    if ("TS004", None) in targets:
        add("TS004", _retain(layers[0]))
    return list(edits.values())


@dataclass(frozen=True, slots=True)
class LiteralFix:
    """A literal that a later statement sets (an override, a removal policy applied),
    rewritten to the safe value in place: its bytes, and what they become."""

    span: tuple[int, int]
    value: str | bool
    """A string ("Retain", "true"), a boolean (True), or an enum member's name ("RETAIN")."""
    member: bool = False
    rules: frozenset[str] = field(default_factory=frozenset)


_RULE_FIELDS = {
    "TS001": ("pitr_enabled",),
    "TS003": ("deletion_protection",),
    "TS004": ("deletion_policy", "update_replace_policy"),
}
_FIELD_NAMES = {
    "pitr_enabled": "PointInTimeRecoveryEnabled",
    "deletion_protection": "DeletionProtectionEnabled",
    "deletion_policy": "DeletionPolicy",
    "update_replace_policy": "UpdateReplacePolicy",
}
_SAFE = {
    "pitr_enabled": (True,),
    "deletion_protection": (True,),
    "deletion_policy": ("Retain", "RetainExceptOnCreate"),
    "update_replace_policy": ("Retain",),
}


def is_safe(field: str, value: object) -> bool:
    """A description field holds the value its rule wants (PITR and protection on, Retain);
    False for a field without one safe value (the recovery period)."""
    return field in _SAFE and value in _SAFE[field]


def _literal_fix(override: Override, field: str) -> LiteralFix | None:
    """The safe value written over the override's literal, where there is one to rewrite."""
    value, span = override.value, override.span
    if span is None:
        return None
    if override.path == REMOVAL_POLICY or len(override.path) == 1:  # an attribute
        if isinstance(value, Member) and value.name in UNSAFE_POLICIES | {"DELETE"}:
            return LiteralFix(span, "RETAIN", member=True)
        if value in ("Delete", "Snapshot"):
            return LiteralFix(span, "Retain")
        return None
    if override.path[1:] != PROPERTY_PATHS[field]:
        return None  # a value inside a mapping: rewritten by hand
    if value is False:
        return LiteralFix(span, True)
    if isinstance(value, str) and value.lower() == "false":
        return LiteralFix(span, "true")
    return None


def render_literal(old: bytes, fix: LiteralFix, *, python: bool) -> bytes:
    """The bytes of the safe value that replace old, the literal as written (its quotes and
    prefix kept)."""
    if fix.member or isinstance(fix.value, bool):
        value = str(fix.value)
        return (value if python or fix.member else value.lower()).encode()
    quote = next(index for index, char in enumerate(old) if char in b"\"'`")
    prefix, closing = old[: quote + 1], old[quote : quote + 1]
    if old[quote : quote + 3] in (b'"""', b"'''"):
        prefix, closing = old[: quote + 3], old[quote : quote + 3]
    return prefix + fix.value.encode() + closing


def fixed_statement(
    override: Override, field: str, data: bytes, lines: Lines[bytes], *, python: bool
) -> str | None:
    """The line of the statement that decides field, its literal made safe (what the
    remediation of its finding shows); None when the literal cannot be rewritten."""
    fix = _literal_fix(override, field)
    if fix is None:
        return None
    start, end = fix.span
    line = lines.line_of(start)
    new = data[lines.start(line) : start] + render_literal(data[start:end], fix, python=python)
    return (new + data[end : lines.end(line)]).decode("utf-8", "replace").strip()


def plan_overrides(call: ConstructCall, targets: Collection[Target]) -> tuple[list[LiteralFix], list[str]]:
    """The literals of later statements that decide a finding's value (the statement wins
    over the props, so no prop edit helps), rewritten to the safe value; and, where a
    statement cannot be rewritten (a deletion override, a value inside a mapping), a line
    saying that it wins and what to do."""
    decided = decisive_overrides(call)
    if not decided:
        return [], []
    table = describe_call(call, "")[0]
    fixes: dict[tuple[int, int], LiteralFix] = {}
    notices: list[str] = []
    for rule_id, fields in _RULE_FIELDS.items():
        if (rule_id, None) not in targets:
            continue
        for name in fields:
            override = decided.get(name)
            if override is None or is_safe(name, getattr(table, name)):
                continue
            if (fix := _literal_fix(override, name)) is not None:
                earlier = fixes.get(fix.span, fix).rules
                fixes[fix.span] = replace(fix, rules=earlier | {rule_id})
                continue
            where = f"line {override.line}: {override.written_as}"
            does = "removes" if isinstance(override.value, Deleted) else "sets"
            todo = (
                "--fix deletes no code; remove that statement"
                if isinstance(override.value, Deleted)
                else "--fix cannot rewrite that value; make it the safe one by hand"
            )
            notices.append(f"{where} {does} {_FIELD_NAMES[name]} and wins over the table's props: {todo}")
    return list(fixes.values()), notices


def overridden(call: ConstructCall) -> frozenset[str]:
    """The rules whose every input a later statement decides: editing the props cannot fix
    them."""
    decided = decisive_overrides(call)
    return frozenset(rule_id for rule_id, fields in _RULE_FIELDS.items() if all(f in decided for f in fields))
