"""Tables for the drill tests and benchmarks/bench_drill.py, seeded with items of every
attribute type (one copy, imported by path from both).

moto's ImportTable decodes no JSON string escapes and drops an item holding an empty map
(SPEC, "moto 5.2"): the items hold ASCII strings without quotes, backslashes or control
characters, and maps that are never empty, so that a drill in moto finds nothing moto made up.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
    {"AttributeName": "status", "AttributeType": "S"},
    {"AttributeName": "placed", "AttributeType": "N"},
    {"AttributeName": "code", "AttributeType": "B"},
]
GSIS = [
    {
        "IndexName": "byStatus",
        "KeySchema": [
            {"AttributeName": "status", "KeyType": "HASH"},
            {"AttributeName": "placed", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["amount", "tags"]},
    },
    {
        "IndexName": "byCode",
        "KeySchema": [{"AttributeName": "code", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
]
LSI = {
    "IndexName": "byPlaced",
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "placed", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
STATUSES = ("open", "paid", "shipped", "returned")
BATCH = 25


def create_table(dynamodb: Any, name: str, *, lsi: bool = False, pitr: bool = True) -> None:
    """A table with two GSIs (a binary key among them), PITR on, and an LSI when asked."""
    extra: dict[str, Any] = {"LocalSecondaryIndexes": [LSI]} if lsi else {}
    dynamodb.create_table(
        TableName=name,
        KeySchema=KEYS,
        AttributeDefinitions=ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=GSIS,
        **extra,
    )
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def item(index: int) -> dict[str, Any]:
    """Item index, with every DynamoDB type: strings, numbers of 38 digits and fractions,
    binary, the three sets, nested maps and lists, booleans and null."""
    return {
        "pk": {"S": f"customer-{index % 997:04d}"},
        "sk": {"N": str(index)},
        "status": {"S": STATUSES[index % len(STATUSES)]},
        "placed": {"N": str(1_700_000_000 + index * 37)},
        "code": {"B": index.to_bytes(3, "big") + b"\x00\xff"},
        "amount": {"N": str(10**37 + index * 7919)},
        "ratio": {"N": f"-{index % 1000}.{index:05d}"},
        "tags": {"SS": [f"tag-{index % 7}", f"tag-{index % 11 + 7}"]},
        "scores": {"NS": [str(index % 100), f"{index % 13}.5", "99999999999999999999999999999999999999"]},
        "blobs": {"BS": [bytes([index % 256]), bytes([255, index % 251])]},
        "address": {
            "M": {
                "street": {"S": f"{index} Main Street"},
                "geo": {
                    "M": {"lat": {"N": f"{index % 90}.{index % 997}"}, "lon": {"N": f"-{index % 180}.25"}}
                },
                "lines": {"L": [{"S": "floor 2"}, {"N": str(index % 50)}]},
            }
        },
        "history": {
            "L": [
                {"S": "created"},
                {"N": str(index)},
                {"BOOL": index % 2 == 0},
                {"NULL": True},
                {"M": {"by": {"S": "system"}}},
                {"SS": ["a", "b"]},
            ]
        },
        "active": {"BOOL": index % 3 == 0},
        "deleted": {"NULL": True},
    }


def seed(dynamodb: Any, name: str, count: int, *, threads: int = 4) -> None:
    """count items (item(0) .. item(count - 1)) by BatchWriteItem, a few batches at once."""

    def write(start: int) -> None:
        requests = [{"PutRequest": {"Item": item(i)}} for i in range(start, min(start + BATCH, count))]
        while requests:
            answer = dynamodb.batch_write_item(RequestItems={name: requests})
            requests = answer.get("UnprocessedItems", {}).get(name, [])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(write, range(0, count, BATCH)))


def result(name: str, started: dt.datetime, verdict: str = "proven", **overrides: Any) -> dict[str, Any]:
    """A drill result file's content, as `tablesafe drill` writes it: 120,000 items recovered in
    14 minutes, 1,000 sampled equal (override any field)."""
    content = {
        "tool": "tablesafe", "version": "0", "result_version": 1, "drill_id": "0123456789ab",
        "table": {"account": "123456789012", "region": "us-east-1", "name": name, "arn": None},
        "route": "export-import", "verdict": verdict, "exit_code": 0, "problem": None, "differences": [],
        "difference_count": 0, "started_at": started.isoformat(), "finished_at": started.isoformat(),
        "recovery_point": None,
        "phases": {"export": 240.0, "import": 600.0, "restore": None, "compare": 60.0},
        "recovery_seconds": 840.0, "total_seconds": 900.0,
        "counts": {"exported": 120_000, "processed": 120_000, "imported": 120_000, "import_errors": 0,
                   "restored": None},
        "sample": {"requested": 1000, "read": 1000, "compared": 1000, "equal": 1000, "data_files": 4},
        "size": {"table_size_bytes": 0, "export_billed_bytes": 0},
        "cost": {"estimate_usd": 0.1, "max_cost_usd": 1.0, "approved_over_budget": False, "prices": {}},
        "scratch_table": {"name": "tablesafe-drill-0123456789ab", "created": True, "deleted": True},
        "export": {"bucket": "drill-bucket", "prefix": "tablesafe-drills/", "arn": None, "kept": False,
                   "removed": True},
        "leftovers": [],
    }  # fmt: skip
    return {**content, **overrides}
