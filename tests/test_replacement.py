"""The replacement data and the pairing of baseline and new tables.

The data is generated from cfn-lint's registry schemas at development time; the first test
regenerates it so it cannot drift from the schemas that the installed cfn-lint carries.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tablesafe.changes import pair_tables, replacing_changes
from tablesafe.model import TABLE, TableDescription
from tablesafe.replacement_data import REPLACING_PROPERTIES

GENERATOR = Path(__file__).resolve().parent.parent / "scripts" / "generate_replacement_data.py"


def test_replacement_data_matches_the_registry_schemas() -> None:
    spec = importlib.util.spec_from_file_location("generate_replacement_data", GENERATOR)
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.replacing_properties() == REPLACING_PROPERTIES
    table = REPLACING_PROPERTIES[TABLE]
    assert {"TableName", "KeySchema", "LocalSecondaryIndexes", "ImportSourceSpecification"} <= set(table)
    assert table["LocalSecondaryIndexes"].startswith("documentation")  # the schema omits it
    assert not {"BillingMode", "GlobalSecondaryIndexes", "StreamSpecification", "Tags"} & set(table)


def _table(logical_id: str, stack: str = "Svc", pk: str = "pk", **props: object) -> TableDescription:
    keys = {
        "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": pk, "AttributeType": "S"}],
    }
    return TableDescription(TABLE, stack=stack, logical_id=logical_id, replacing_props={**keys, **props})


def test_an_ambiguous_key_schema_pairs_nothing() -> None:
    """Two new tables with the removed table's key schema: no guess, the removal stands."""
    old = [_table("Orders"), _table("Keep", pk="id")]
    new = [_table("Keep", pk="id"), _table("OrdersV2"), _table("Sessions")]
    changes, _ = pair_tables(old, new, baseline="b", new_stacks={"Svc"})
    by_old = {c.old.logical_id: c for c in changes}
    assert by_old["Orders"].new is None
    assert by_old["Keep"].new is not None and by_old["Keep"].matched_by == "logical ID"


def test_logical_ids_are_matched_within_their_stack() -> None:
    old = [_table("Orders", stack="A"), _table("Orders", stack="B", pk="id")]
    new = [_table("Orders", stack="B", pk="id"), _table("Orders", stack="A")]
    changes, _ = pair_tables(old, new, baseline="b", new_stacks={"A", "B"})
    assert all(c.new is not None and c.old.stack == c.new.stack for c in changes)
    assert all(replacing_changes(c.old, c.new) == [] for c in changes if c.new)


def test_a_stack_missing_from_the_new_input_is_not_a_removal() -> None:
    changes, notices = pair_tables(
        [_table("Orders", stack="Gone"), _table("X", stack="Svc")],
        [_table("X", stack="Svc")],
        baseline="b",
        new_stacks={"Svc", "Other"},
    )
    assert all(c.new is not None for c in changes)
    assert any("Gone is not in the new input" in n.message for n in notices)


def test_key_order_and_index_order_are_not_changes() -> None:
    index = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    old = _table("T", LocalSecondaryIndexes=[{"IndexName": "a", **index}, {"IndexName": "b", **index}])
    new = _table("T", LocalSecondaryIndexes=[{"IndexName": "b", **index}, {"IndexName": "a", **index}])
    assert replacing_changes(old, new) == []
    assert [str(c) for c in replacing_changes(old, _table("T"))] == [
        "LocalSecondaryIndexes changes from indexes a, b to none"
    ]
