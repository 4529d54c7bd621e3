"""`tablesafe audit --demo`: an embedded moto server seeded with sample tables, so the audit
can be tried with no AWS account.

moto has gaps that the seeding works around (the audit itself uses the real APIs as
documented): its CloudFormation ignores PITR and adds no aws:cloudformation:* tags, so the
stack-owned table gets PITR and those tags set after the stack is created; and moto has no
global tables (no Replicas in DescribeTable), so the "global" table is the same table name
created in two regions, audited as two tables.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Fake credentials: the demo must never reach, or be able to reach, a real account."""
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION")
HOME, OTHER = "us-east-1", "eu-west-1"

STACK_NAME = "ShopStack"
STACK_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Demo stack whose table CloudFormation would delete with the stack
Resources:
  CartsTable4A6E1B2C:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata:
      aws:cdk:path: ShopStack/Carts/Resource
    Properties:
      TableName: !Sub "shop-carts"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: cartId, AttributeType: S}
      KeySchema:
        - {AttributeName: cartId, KeyType: HASH}
      DeletionProtectionEnabled: true
"""
STACK_TABLE, STACK_LOGICAL_ID = "shop-carts", "CartsTable4A6E1B2C"


def _key(*names: str) -> dict[str, Any]:
    """KeySchema and string AttributeDefinitions for a HASH (and RANGE) key."""
    kinds = ("HASH", "RANGE")
    return {
        "KeySchema": [{"AttributeName": n, "KeyType": kinds[i]} for i, n in enumerate(names)],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in names],
    }


def _pitr(dynamodb: Any, table: str, days: int) -> None:
    dynamodb.update_continuous_backups(
        TableName=table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": days},
    )


def seed(endpoint_url: str) -> None:
    """Create the sample tables: good, bad, "global" (two regions) and stack-owned."""
    session = boto3.Session(**{k.lower(): v for k, v in DEMO_ENV.items() if k != "AWS_DEFAULT_REGION"})
    home = session.client("dynamodb", region_name=HOME, endpoint_url=endpoint_url)
    other = session.client("dynamodb", region_name=OTHER, endpoint_url=endpoint_url)

    orders = _key("customerId", "orderId")
    orders["AttributeDefinitions"] += [
        {"AttributeName": "status", "AttributeType": "S"},
        {"AttributeName": "placedAt", "AttributeType": "S"},
    ]
    home.create_table(
        TableName="orders",
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-placed-at",
                "KeySchema": [
                    {"AttributeName": "customerId", "KeyType": "HASH"},
                    {"AttributeName": "placedAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        DeletionProtectionEnabled=True,
        Tags=[{"Key": "team", "Value": "checkout"}, {"Key": "cost-center", "Value": "cc-1042"}],
        **orders,
    )
    _pitr(home, "orders", 35)
    home.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )

    home.create_table(TableName="sessions-scratch", BillingMode="PAY_PER_REQUEST", **_key("sessionId"))

    for client, days in ((home, 35), (other, 3)):
        client.create_table(
            TableName="customers",
            BillingMode="PAY_PER_REQUEST",
            DeletionProtectionEnabled=client is home,
            **_key("customerId"),
        )
        _pitr(client, "customers", days)

    cloudformation = session.client("cloudformation", region_name=HOME, endpoint_url=endpoint_url)
    stack_id = cloudformation.create_stack(StackName=STACK_NAME, TemplateBody=STACK_TEMPLATE)["StackId"]
    _pitr(home, STACK_TABLE, 35)
    tag_as_stack_owned(home, STACK_TABLE, STACK_NAME, STACK_LOGICAL_ID, stack_id)


def tag_as_stack_owned(
    dynamodb: Any, table: str, stack: str, logical_id: str, stack_id: str | None = None
) -> None:
    """The aws:cloudformation:* tags CloudFormation puts on the tables it creates (moto
    does not): how the audit finds a table's stack without DescribeStackResources."""
    tags = {"stack-name": stack, "logical-id": logical_id, "stack-id": stack_id}
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    dynamodb.tag_resource(
        ResourceArn=arn,
        Tags=[{"Key": f"aws:cloudformation:{key}", "Value": value} for key, value in tags.items() if value],
    )


@contextmanager
def demo_endpoint() -> Iterator[str]:
    """A seeded moto server on 127.0.0.1 (a free port) for the duration; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ.update(DEMO_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        seed(url)
        yield url
    finally:
        server.stop()
