"""Seeding the moto server for the audit tests, with moto's gaps worked around here (SPEC):
its CloudFormation adds no aws:cloudformation:* tags and ignores PITR, so the tests set them
after creating the stack; it has no global tables, so a proxy rewrite adds Replicas."""

from __future__ import annotations

from typing import Any

import boto3

from tablesafe.scanner.demo import tag_as_stack_owned

ACCOUNT = "123456789012"
HOME, OTHER = "us-east-1", "eu-west-1"
KEY = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}

STACK_TEMPLATE = """\
Resources:
  {logical_id}:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: {policy}
    UpdateReplacePolicy: {policy}
    Metadata:
      aws:cdk:path: {stack}/{logical_id}/Resource
    Properties:
      TableName: !Sub "{table}"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{{AttributeName: pk, AttributeType: S}}]
      KeySchema: [{{AttributeName: pk, KeyType: HASH}}]
"""


def client(url: str, service: str, region: str = HOME, session: boto3.Session | None = None) -> Any:
    return (session or boto3.Session()).client(service, region_name=region, endpoint_url=url)


def create_table(
    url: str,
    name: str,
    *,
    region: str = HOME,
    pitr_days: int | None = 35,
    protected: bool = True,
    session: boto3.Session | None = None,
) -> None:
    dynamodb = client(url, "dynamodb", region, session)
    dynamodb.create_table(TableName=name, DeletionProtectionEnabled=protected, **KEY)
    if pitr_days:
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": pitr_days,
            },
        )


def create_stack(url: str, stack: str, tables: dict[str, str], *, policy: str = "Retain") -> None:
    """A CloudFormation stack creating tables (logical ID -> table name), tagged as AWS would,
    with PITR and deletion protection on (moto's CloudFormation ignores both)."""
    resources = "".join(
        STACK_TEMPLATE.format(logical_id=lid, policy=policy, stack=stack, table=table).removeprefix(
            "Resources:\n"
        )
        for lid, table in tables.items()
    )
    client(url, "cloudformation").create_stack(StackName=stack, TemplateBody="Resources:\n" + resources)
    dynamodb = client(url, "dynamodb")
    for logical_id, table in tables.items():
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=True)
        dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        tag_as_stack_owned(dynamodb, table, stack, logical_id)


def seed_standard(url: str) -> None:
    """good, bad, short-PITR, two tables of one stack (Retain), one of another (Delete), and
    customers in both regions (made global by `global_table_rewrite`)."""
    create_table(url, "good")
    create_table(url, "bad", pitr_days=None, protected=False)
    create_table(url, "short-pitr", pitr_days=3)
    create_stack(url, "ShopStack", {"CartsTable": "carts", "WishlistsTable": "wishlists"})
    create_stack(url, "ScratchStack", {"ScratchTable": "scratch-stack-table"}, policy="Delete")
    create_table(url, "customers", region=HOME)
    create_table(url, "customers", region=OTHER, pitr_days=None, protected=False)


def global_table_rewrite(name: str, regions: tuple[str, ...]) -> Any:
    """A proxy rewrite that makes DescribeTable of `name` report replicas (version 2019.11.21)."""

    def rewrite(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeTable" and call.table == name:
            answer["Table"]["GlobalTableVersion"] = "2019.11.21"
            answer["Table"]["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in regions]

    return rewrite


def status_rewrite(name: str, status: str) -> Any:
    def rewrite(call: Any, answer: dict[str, Any]) -> None:
        if call.operation == "DescribeTable" and call.table == name:
            answer["Table"]["TableStatus"] = status

    return rewrite


def assumed_session(url: str, account: str, role: str = "tablesafe-audit") -> boto3.Session:
    """Credentials in another moto account (moto maps assumed-role keys to the role's account)."""
    credentials = client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="seed"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
