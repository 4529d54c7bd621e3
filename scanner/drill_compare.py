"""How a drill compares its scratch table with what cannot have changed since the recovery
point: the blueprint (keys, attribute definitions, indexes, settings) and the items read from
the export. Pure functions over API answers; no boto3.

Items are compared as DynamoDB values, not as text: numbers as numbers (``1.0`` equals ``1``,
38 digits exactly), binary as bytes whether it came as the export's base64 or the client's
bytes, sets as sets (DynamoDB keeps no order), lists in order, maps by name.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .aws import one_line
from .blueprint import blueprint
from .drill_settings import EXPORT_IMPORT, PITR_RESTORE
from .records import TableRecord

MAX_DEPTH = 40
"""Nesting of one attribute value: DynamoDB allows 32 levels."""
_EXACT = Context(prec=100)
"""Normalizing a number keeps every digit of DynamoDB's 38."""


def key_schema(schema: Any) -> list[tuple[str, str]]:
    return [(key.get("AttributeName"), key.get("KeyType")) for key in schema or []]


def _projection(index: Mapping[str, Any]) -> tuple[Any, list[str]]:
    projection = index.get("Projection") or {}
    return projection.get("ProjectionType", "ALL"), sorted(projection.get("NonKeyAttributes") or [])


def _billing(bp: Mapping[str, Any]) -> str:
    billing = bp.get("billing") or {}
    throughput = billing.get("provisioned_throughput") or {}
    if billing.get("mode") != "PROVISIONED":
        return str(billing.get("mode"))
    units = (throughput.get("ReadCapacityUnits"), throughput.get("WriteCapacityUnits"))
    return f"PROVISIONED ({units[0]} read, {units[1]} write units)"


def _encryption(bp: Mapping[str, Any]) -> str:
    sse = bp.get("sse") or {}
    return (
        "an AWS owned key" if not sse.get("type") else f"{sse['type']} {sse.get('kms_key_arn') or ''}".strip()
    )


def _differing(what: str, found: str, expected: str) -> list[str]:
    return [] if found == expected else [f"{what}: {found}, not {expected}"]


def _key_text(keys: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in keys) or "none"


def schema_differences(bp: Mapping[str, Any], scratch: Mapping[str, Any], route: str) -> list[str]:
    """What of the blueprint the scratch table lacks or has otherwise: keys, the attribute
    definitions the keys use, GSIs (and LSIs by restore) with their keys and projections,
    billing (by import: a restore is billed per request on purpose) and encryption."""
    found = blueprint(TableRecord("", "", str(scratch.get("TableName")), describe=dict(scratch)))
    problems = []
    if key_schema(bp["key_schema"]) != key_schema(found["key_schema"]):
        problems.append(
            f"key schema: blueprint {_key_text(key_schema(bp['key_schema']))}, "
            f"scratch table {_key_text(key_schema(found['key_schema']))}"
        )
    kinds = [("global_secondary_indexes", "GSI")]
    if route == PITR_RESTORE:
        kinds.append(("local_secondary_indexes", "LSI"))
    used = {name for name, _ in key_schema(bp["key_schema"])}
    for key, label in kinds:
        expected = {index["IndexName"]: index for index in bp.get(key) or []}
        present = {index["IndexName"]: index for index in found.get(key) or []}
        for name, index in expected.items():
            used.update(attribute for attribute, _ in key_schema(index.get("KeySchema")))
            other = present.get(name)
            if other is None:
                problems.append(f"{label} {name} is missing from the scratch table")
            elif key_schema(index.get("KeySchema")) != key_schema(other.get("KeySchema")):
                problems.append(
                    f"{label} {name}: keys {_key_text(key_schema(other.get('KeySchema')))}, not "
                    f"{_key_text(key_schema(index.get('KeySchema')))}"
                )
            elif _projection(index) != _projection(other):
                problems.append(f"{label} {name}: projection {_projection(other)}, not {_projection(index)}")
        problems += [
            f"{label} {name} is in the scratch table but not in the blueprint"
            for name in present.keys() - expected.keys()
        ]
    types = {a["AttributeName"]: a["AttributeType"] for a in found.get("attribute_definitions") or []}
    for attribute in bp.get("attribute_definitions") or []:
        name = attribute["AttributeName"]
        if name in used and types.get(name) != attribute["AttributeType"]:
            problems.append(
                f"attribute {name}: type {types.get(name) or 'undefined'}, not {attribute['AttributeType']}"
            )
    if route == EXPORT_IMPORT:
        problems += _differing("billing", _billing(found), _billing(bp))
    problems += _differing("encryption", _encryption(found), _encryption(bp))
    return [one_line(problem) for problem in problems]


def key_id(key: Mapping[str, Any], names: Sequence[str]) -> str:
    """One string per key, the same for the exported item and the item fetched: a number by
    its value (exactly, 38 digits included), binary by its bytes."""
    parts = []
    for name in names:
        kind, value = canonical(key[name])
        if kind == "N":
            value = str(value.normalize(_EXACT))
        elif kind == "B":
            value = base64.b64encode(value).decode()
        parts.append([kind, value])
    return json.dumps(parts)


def request_value(value: Any) -> dict[str, Any]:
    """A key value as the low-level client sends it: binary as bytes, not the export's base64."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError("not a typed value")
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": _bytes(raw)}
    if kind in ("S", "N") and isinstance(raw, str):
        return {kind: raw}
    raise ValueError(f"{kind} is not a key type")


def _bytes(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    if isinstance(raw, str):
        return base64.b64decode(raw, validate=True)
    raise ValueError("not binary")


def _number(raw: Any) -> Decimal:
    if not isinstance(raw, str):
        raise ValueError("not a number")
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a number: {raw[:40]!r}") from None


def canonical(value: Any, depth: int = 0) -> Any:
    """A typed value in a form where equal DynamoDB values are equal Python values: numbers
    as Decimals (1.0 == 1), binary as bytes whether base64 (export) or bytes (client), sets
    as frozensets, lists as tuples, maps as dicts."""
    if depth > MAX_DEPTH or not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError("not a typed value")
    ((kind, raw),) = value.items()
    if kind in ("S", "BOOL", "NULL"):
        return (kind, raw)
    if kind == "N":
        return (kind, _number(raw))
    if kind == "B":
        return (kind, _bytes(raw))
    if kind in ("SS", "NS", "BS") and isinstance(raw, list):
        convert = {"SS": str, "NS": _number, "BS": _bytes}[kind]
        return (kind, frozenset(convert(member) for member in raw))
    if kind == "L" and isinstance(raw, list):
        return (kind, tuple(canonical(member, depth + 1) for member in raw))
    if kind == "M" and isinstance(raw, Mapping):
        return (kind, {name: canonical(member, depth + 1) for name, member in raw.items()})
    raise ValueError(f"unknown type {one_line(repr(kind), 20)}")


def _shown(value: Any) -> str:
    """A typed value, briefly, for a difference line."""

    def plain(raw: Any) -> Any:
        if isinstance(raw, bytes | bytearray):
            return base64.b64encode(raw).decode()
        if isinstance(raw, Mapping):
            return {key: plain(member) for key, member in raw.items()}
        if isinstance(raw, list):
            return [plain(member) for member in raw]
        return raw

    return one_line(json.dumps(plain(value), default=str), 100)


def shown_key(item: Mapping[str, Any], names: Sequence[str]) -> str:
    return "{" + ", ".join(f"{name}: {_shown(item.get(name))}" for name in names) + "}"


def item_differences(exported: Mapping[str, Any], found: Mapping[str, Any] | None) -> list[str]:
    """Attribute by attribute: what the scratch table's item lacks, adds or holds otherwise."""
    if found is None:
        return ["missing from the scratch table"]
    problems = []
    for name in sorted(exported.keys() | found.keys()):
        if name not in found:
            problems.append(
                f"attribute {name} is missing from the scratch table (export: {_shown(exported[name])})"
            )
        elif name not in exported:
            problems.append(f"attribute {name} is not in the export (scratch table: {_shown(found[name])})")
        else:
            try:
                same = canonical(exported[name]) == canonical(found[name])
            except (ValueError, TypeError):
                same = False
            if not same:
                problems.append(
                    f"attribute {name}: export {_shown(exported[name])}, scratch table {_shown(found[name])}"
                )
    return problems
