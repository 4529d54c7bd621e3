"""Write a synthetic but realistic CDK cloud assembly full of DynamoDB tables.

The files copy the shapes that aws-cdk-lib 2.275 writes (checked against a real synth of
a small Python app, through the CDK CLI and through ``app.synth()``):

- ``manifest.json`` (schema 55.0.0, 2-space indent): per stack a ``cdk:asset-manifest``
  artifact and an ``aws:cloudformation:stack`` artifact (environment, templateFile,
  bootstrap roles, stackTemplateAssetObjectUrl = sha256 of the template,
  additionalMetadataFile, displayName), the ``Tree`` artifact and a feature-flag report.
- ``<Stack>.template.json`` (1-space indent, no trailing newline, sorted properties):
  ``AWS::DynamoDB::Table`` and ``AWS::DynamoDB::GlobalTable`` resources with real CDK
  logical IDs (construct id + first 8 hex digits of md5("<id>/Resource")), plus the
  BootstrapVersion parameter and rule; with ``--style cli`` (default, what ``cdk synth``
  writes) also ``aws:cdk:path`` resource metadata and the ``CDKMetadata`` resource.
- ``<Stack>.metadata.json`` (breadth-first construct order): ``aws:cdk:logicalId`` at
  ``/Stack/Table/Resource``, ``aws:cdk:analytics:construct`` / ``:method`` at
  ``/Stack/Table`` (as with ``@aws-cdk/core:enableAdditionalMetadataCollection``).
- ``<Stack>.assets.json``, ``tree.json`` (compact), ``cdk.out``, ``validation-report.json``.

Tables are a seeded random mix of good ones and ones with defects (no PITR, PITR false,
no deletion protection, DeletionPolicy Delete, short RecoveryPeriodInDays, ``Fn::If`` on
a condition, a global-table replica without PITR, the deprecated ``pointInTimeRecovery``
prop). The same arguments always give byte-identical output.

Usage: python benchmarks/generate_assembly.py --tables 1000 --stacks 5 --out DIR
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CDK_VERSION = "2.275.0"
CONSTRUCTS_VERSION = "10.8.1"
SCHEMA_VERSION = "55.0.0"
MIN_CLI_VERSION = "2.1148.0"
ACCOUNT = "123456789012"
QUALIFIER = "hnb659fds"
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2"]
MAX_RESOURCES_PER_STACK = 500

NO_USER_CODE = "(no user code in 10 frames, use --stack-trace-limit to capture more)"
TRACE_APP = ["...jsii runtime, node internals...", NO_USER_CODE]
TRACE_LIB = ["...aws-cdk-lib...", NO_USER_CODE]
TRACE_L1 = ["...aws-cdk-lib, jsii runtime, node internals...", NO_USER_CODE]
TRACE_CDKMETA = ["...aws-cdk-lib, jsii runtime...", NO_USER_CODE]

DOMAINS = [
    "Orders",
    "Invoices",
    "Payments",
    "Customers",
    "Sessions",
    "Carts",
    "Inventory",
    "Shipments",
    "Ledger",
    "AuditLog",
    "Profiles",
    "Subscriptions",
    "Notifications",
    "Tokens",
    "Events",
    "Catalog",
    "Reviews",
    "Devices",
    "Leases",
    "Jobs",
]
SERVICES = [
    "Checkout",
    "Billing",
    "Identity",
    "Catalog",
    "Fulfilment",
    "Messaging",
    "Analytics",
    "Search",
    "Accounts",
    "Pricing",
]
TEAMS = ["payments", "core", "platform", "growth", "data", "web"]
ATTR_NAMES = ["status", "customerId", "createdAt", "email", "tenantId", "type", "owner"]

# Defects a bad table may get; weights favour the common real-world ones.
TABLE_DEFECTS = {
    "no_pitr": 5,
    "pitr_false": 1,
    "no_deletion_protection": 5,
    "destroy": 3,
    "short_period": 2,
    "fn_if_pitr": 1,
    "fn_if_deletion_protection": 1,
}
GLOBAL_DEFECTS = {
    "no_pitr": 3,
    "replica_no_pitr": 3,
    "no_deletion_protection": 3,
    "replica_no_deletion_protection": 2,
    "destroy": 2,
    "short_period": 1,
    "fn_if_pitr": 1,
}

FEATURE_FLAGS: dict[str, Any] = {
    "@aws-cdk/core:newStyleStackSynthesis": {
        "recommendedValue": True,
        "explanation": "Switch to new stack synthesis method which enables CI/CD",
        "unconfiguredBehavesLike": {"v2": True},
    },
    "@aws-cdk/core:enableAdditionalMetadataCollection": {
        "userValue": True,
        "recommendedValue": True,
        "explanation": "When enabled, CDK will expand the scope of usage data collected to "
        "better inform CDK development and improve communication for security concerns "
        "and emerging issues.",
    },
    "@aws-cdk/aws-dynamodb:resourcePolicyPerReplica": {
        "recommendedValue": True,
        "explanation": "When enabled will allow you to specify a resource policy per "
        "replica, and not copy the source table policy to all replicas",
    },
    "@aws-cdk/aws-dynamodb:retainTableReplica": {
        "recommendedValue": True,
        "explanation": "When enabled, table replica will be default to the removal policy "
        "of source table unless specified otherwise.",
    },
}


@dataclass
class TableSpec:
    """One generated table: its template resource and its CDK metadata."""

    construct_id: str
    logical_id: str
    resource: dict[str, Any]
    tree_props: dict[str, Any]
    analytics: list[dict[str, Any]]
    defects: list[str]
    uses_condition: bool = False


@dataclass
class StackSpec:
    """One generated stack."""

    name: str
    region: str
    tables: list[TableSpec] = field(default_factory=list)

    @property
    def uses_condition(self) -> bool:
        """Whether a table of the stack refers to the IsProd condition."""
        return any(t.uses_condition for t in self.tables)


def cdk_logical_id(*path: str) -> str:
    """CDK's makeUniqueId for a construct path below the stack."""
    components = [c for c in path if c != "Default"]
    digest = hashlib.md5("/".join(components).encode()).hexdigest()[:8].upper()
    human = "".join(re.sub(r"[^A-Za-z0-9]", "", c) for c in components if c != "Resource")
    return human[:240] + digest


def camel(key: str) -> str:
    """CloudFormation property name -> jsii (tree.json) name: SSEEnabled -> sseEnabled."""
    m = re.match(r"^([A-Z]+)([A-Z][a-z].*)$", key)
    if m:
        return m.group(1).lower() + m.group(2)
    return key[:1].lower() + key[1:]


def camelize(value: Any) -> Any:
    """Recursively camel-case dict keys, leaving intrinsic functions alone."""
    if isinstance(value, dict):
        return {
            (k if k.startswith("Fn::") or k == "Ref" else camel(k)): camelize(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


def sort_keys(value: Any) -> Any:
    """Sort dict keys recursively, as CDK renders L1 properties."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def fn_if(condition: str = "IsProd") -> dict[str, Any]:
    """The Fn::If a property override with Fn.condition_if writes."""
    return {"Fn::If": [condition, True, False]}


def pick_defects(rng: random.Random, weights: dict[str, int]) -> list[str]:
    """Half of the tables are good; the others get one or two defects."""
    if rng.random() < 0.5:
        return []
    names = list(weights)
    first = rng.choices(names, [weights[n] for n in names])[0]
    chosen = [first]
    if rng.random() < 0.3:
        second = rng.choices(names, [weights[n] for n in names])[0]
        if second != first:
            chosen.append(second)
    return chosen


def key_attributes(rng: random.Random) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """AttributeDefinitions and KeySchema for the table's primary key."""
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if rng.random() < 0.65:
        attrs.append({"AttributeName": "sk", "AttributeType": rng.choice(["S", "S", "N"])})
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
    return attrs, keys


def add_gsis(
    rng: random.Random, attrs: list[dict[str, str]], provisioned: bool, v2: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """0-2 GSIs; returns the template GSIs and their analytics entries."""
    count = rng.choices([0, 1, 2], [60, 28, 12])[0]
    gsis: list[dict[str, Any]] = []
    analytics: list[dict[str, Any]] = []
    names = rng.sample(ATTR_NAMES, count)
    for i, attr in enumerate(names):
        attr_type = "N" if attr == "createdAt" else "S"
        if all(a["AttributeName"] != attr for a in attrs):
            attrs.append({"AttributeName": attr, "AttributeType": attr_type})
        projection = rng.choice(["ALL", "ALL", "KEYS_ONLY", "INCLUDE"])
        proj: dict[str, Any] = {"ProjectionType": projection}
        entry: dict[str, Any] = {"indexName": "*"}
        if v2:
            entry["partitionKey"] = {"name": "*", "type": attr_type}
        if projection == "INCLUDE":
            proj["NonKeyAttributes"] = ["total", "updatedAt"]
            entry["nonKeyAttributes"] = "*"
        if not v2:
            entry["projectionType"] = projection
        gsi: dict[str, Any] = {
            "IndexName": f"by{attr[0].upper()}{attr[1:]}" if i == 0 else f"gsi{i + 1}",
            "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}],
            "Projection": proj,
        }
        if provisioned and not v2:
            gsi["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            entry["readCapacity"] = "*"
            entry["writeCapacity"] = "*"
        gsis.append(gsi)
        analytics.append(entry)
    return gsis, analytics


def table_spec(
    resource_type: str,
    construct_id: str,
    props: dict[str, Any],
    tree_props: dict[str, Any],
    l2: dict[str, Any],
    methods: list[dict[str, Any]],
    defects: list[str],
    has_name: bool,
    uses_condition: bool,
) -> TableSpec:
    """The resource (with the removal policy its defects ask for) and the construct's
    analytics metadata, in the order CDK writes them: Table records its physical name
    before the method calls, TableV2 after."""
    policy = "Delete" if "destroy" in defects else "Retain"
    if policy == "Delete":
        l2["removalPolicy"] = "destroy"
    logical_id = cdk_logical_id(construct_id, "Resource")
    resource = {
        "Type": resource_type,
        "Properties": sort_keys(props),
        "UpdateReplacePolicy": policy,
        "DeletionPolicy": policy,
    }
    name = [{"type": "aws:cdk:hasPhysicalName", "data": {"Ref": logical_id}}] if has_name else []
    calls = [{"type": "aws:cdk:analytics:method", "data": m} for m in methods]
    ordered = name + calls if resource_type == "AWS::DynamoDB::Table" else calls + name
    analytics = [{"type": "aws:cdk:analytics:construct", "data": l2}, *ordered]
    return TableSpec(
        construct_id, logical_id, resource, sort_keys(tree_props), analytics, defects, uses_condition
    )


def make_table(rng: random.Random, construct_id: str) -> TableSpec:
    """An AWS::DynamoDB::Table as CDK's dynamodb.Table synthesizes it."""
    defects = pick_defects(rng, TABLE_DEFECTS)
    attrs, keys = key_attributes(rng)
    props: dict[str, Any] = {"AttributeDefinitions": attrs, "KeySchema": keys}
    l2: dict[str, Any] = {"partitionKey": {"name": "*", "type": "S"}}
    if len(keys) == 2:
        l2["sortKey"] = {"name": "*", "type": attrs[1]["AttributeType"]}
    methods: list[dict[str, Any]] = []

    provisioned = rng.random() < 0.3
    if provisioned:
        rcu, wcu = rng.choice([(5, 5), (10, 5), (25, 10), (100, 50)])
        props["ProvisionedThroughput"] = {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
        l2["billingMode"] = "PROVISIONED"
        l2["readCapacity"] = "*"
        l2["writeCapacity"] = "*"
    else:
        props["BillingMode"] = "PAY_PER_REQUEST"
        l2["billingMode"] = "PAY_PER_REQUEST"

    gsis, gsi_analytics = add_gsis(rng, attrs, provisioned, v2=False)
    if gsis:
        props["GlobalSecondaryIndexes"] = gsis
        methods += [{"addGlobalSecondaryIndex": [e]} for e in gsi_analytics]
    if len(keys) == 2 and rng.random() < 0.08:
        attrs.append({"AttributeName": "updatedAt", "AttributeType": "S"})
        props["LocalSecondaryIndexes"] = [
            {
                "IndexName": "byUpdatedAt",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "updatedAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
        methods.append(
            {
                "addLocalSecondaryIndex": [
                    {
                        "indexName": "*",
                        "projectionType": "KEYS_ONLY",
                        "sortKey": {"name": "*", "type": "S"},
                    }
                ]
            }
        )

    # Point-in-time recovery.
    uses_condition = False
    if "no_pitr" not in defects:
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": "pitr_false" not in defects}
        if "short_period" in defects:
            spec["RecoveryPeriodInDays"] = rng.choice([1, 3, 5])
        elif rng.random() < 0.3:
            spec["RecoveryPeriodInDays"] = rng.choice([7, 14, 35])
        props["PointInTimeRecoverySpecification"] = spec
        if "pitr_false" not in defects and "RecoveryPeriodInDays" not in spec and rng.random() < 0.2:
            l2["pointInTimeRecovery"] = True  # the deprecated prop, same template
        else:
            l2_spec: dict[str, Any] = {"pointInTimeRecoveryEnabled": spec["PointInTimeRecoveryEnabled"]}
            if "RecoveryPeriodInDays" in spec:
                l2_spec["recoveryPeriodInDays"] = "*"
            l2["pointInTimeRecoverySpecification"] = l2_spec
    tree_props = json.loads(json.dumps(props))  # before escape-hatch overrides
    if "fn_if_pitr" in defects:
        props.setdefault("PointInTimeRecoverySpecification", {})["PointInTimeRecoveryEnabled"] = fn_if()
        uses_condition = True

    # Deletion protection.
    if "no_deletion_protection" not in defects:
        props["DeletionProtectionEnabled"] = True
        tree_props["DeletionProtectionEnabled"] = True
        l2["deletionProtection"] = True
    if "fn_if_deletion_protection" in defects:
        props["DeletionProtectionEnabled"] = fn_if()
        uses_condition = True

    # Other realistic properties.
    if rng.random() < 0.4:
        view = rng.choice(["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "KEYS_ONLY"])
        props["StreamSpecification"] = {"StreamViewType": view}
        l2["stream"] = view
    if rng.random() < 0.45:
        props["SSESpecification"] = {"SSEEnabled": True}
        l2["encryption"] = "AWS_MANAGED"
    if rng.random() < 0.3:
        props["TimeToLiveSpecification"] = {"AttributeName": "expiresAt", "Enabled": True}
        l2["timeToLiveAttribute"] = "*"
    if rng.random() < 0.1:
        props["ContributorInsightsSpecification"] = {"Enabled": True}
        l2["contributorInsightsEnabled"] = True
    if rng.random() < 0.1:
        props["TableClass"] = "STANDARD_INFREQUENT_ACCESS"
        l2["tableClass"] = "STANDARD_INFREQUENT_ACCESS"
    has_name = rng.random() < 0.2
    if has_name:
        props["TableName"] = f"{construct_id.lower()}-{rng.choice(['prod', 'main', 'v2'])}"
        l2["tableName"] = "*"
    if rng.random() < 0.7:
        tags = [{"Key": "team", "Value": rng.choice(TEAMS)}]
        if rng.random() < 0.5:
            tags.append({"Key": "cost-center", "Value": f"cc-{rng.randint(100, 999)}"})
        props["Tags"] = sorted(tags, key=lambda t: t["Key"])
        tree_props["Tags"] = props["Tags"]
    for key in (
        "StreamSpecification",
        "SSESpecification",
        "TimeToLiveSpecification",
        "ContributorInsightsSpecification",
        "TableClass",
        "TableName",
    ):
        if key in props:
            tree_props[key] = props[key]

    return table_spec(
        "AWS::DynamoDB::Table",
        construct_id,
        props,
        tree_props,
        l2,
        methods,
        defects,
        has_name,
        uses_condition,
    )


def make_global_table(rng: random.Random, construct_id: str, region: str) -> TableSpec:
    """An AWS::DynamoDB::GlobalTable as CDK's dynamodb.TableV2 synthesizes it."""
    defects = pick_defects(rng, GLOBAL_DEFECTS)
    attrs, keys = key_attributes(rng)
    props: dict[str, Any] = {"AttributeDefinitions": attrs, "KeySchema": keys}
    l2: dict[str, Any] = {"partitionKey": {"name": "*", "type": "S"}}
    if len(keys) == 2:
        l2["sortKey"] = {"name": "*", "type": attrs[1]["AttributeType"]}
    methods: list[dict[str, Any]] = []

    provisioned = rng.random() < 0.15
    gsis: list[dict[str, Any]] = []
    if provisioned:
        props["BillingMode"] = "PROVISIONED"
        props["WriteProvisionedThroughputSettings"] = {
            "WriteCapacityAutoScalingSettings": {
                "MaxCapacity": rng.choice([50, 100, 500]),
                "MinCapacity": 1,
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70},
            }
        }
        l2["billing"] = "*"
    else:
        props["BillingMode"] = "PAY_PER_REQUEST"
        gsis, gsi_analytics = add_gsis(rng, attrs, provisioned=False, v2=True)
        if gsis:
            props["GlobalSecondaryIndexes"] = gsis
            l2["globalSecondaryIndexes"] = gsi_analytics
            methods += [{"addGlobalSecondaryIndex": [e]} for e in gsi_analytics]
    # TableV2 with replicas always turns streams on.
    view = rng.choice(["NEW_AND_OLD_IMAGES", "NEW_AND_OLD_IMAGES", "NEW_IMAGE"])
    props["StreamSpecification"] = {"StreamViewType": view}
    if view != "NEW_AND_OLD_IMAGES":
        l2["dynamoStream"] = view
    if rng.random() < 0.4:
        props["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS"}
        l2["encryption"] = "*"
    if rng.random() < 0.3:
        props["TimeToLiveSpecification"] = {"AttributeName": "expiresAt", "Enabled": True}
        l2["timeToLiveAttribute"] = "*"
    has_name = rng.random() < 0.2
    if has_name:
        props["TableName"] = f"{construct_id.lower()}-global"
        l2["tableName"] = "*"

    # Replicas: 1-2 extra regions, the stack's own region last (as CDK renders it).
    others = [r for r in REGIONS if r != region]
    regions = [*rng.sample(others, rng.choice([1, 2])), region]
    pitr: Any = None
    if "no_pitr" not in defects:
        pitr = {"PointInTimeRecoveryEnabled": True}
        l2_spec: dict[str, Any] = {"pointInTimeRecoveryEnabled": True}
        if "short_period" in defects:
            pitr["RecoveryPeriodInDays"] = rng.choice([1, 2, 3])
        elif rng.random() < 0.3:
            pitr["RecoveryPeriodInDays"] = rng.choice([7, 14, 35])
        if "RecoveryPeriodInDays" in pitr:
            l2_spec["recoveryPeriodInDays"] = "*"
        l2["pointInTimeRecoverySpecification"] = l2_spec
    protect = "no_deletion_protection" not in defects
    if protect:
        l2["deletionProtection"] = True
    tags: list[dict[str, str]] = []
    if rng.random() < 0.6:
        tags = [{"Key": "team", "Value": rng.choice(TEAMS)}]
    # A defect on one replica other than Replicas[0]'s... usually the last (local) one.
    odd = rng.randrange(1, len(regions))
    replicas: list[dict[str, Any]] = []
    l2_replicas: list[dict[str, Any]] = []
    for i, replica_region in enumerate(regions):
        replica: dict[str, Any] = {"Region": replica_region}
        replica_l2: dict[str, Any] = {}
        if pitr is not None:
            replica["PointInTimeRecoverySpecification"] = dict(pitr)
        if protect:
            replica["DeletionProtectionEnabled"] = True
        if i == odd and "replica_no_pitr" in defects:
            replica["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": False}
            replica_l2["pointInTimeRecoverySpecification"] = {"pointInTimeRecoveryEnabled": False}
        if i == odd and "replica_no_deletion_protection" in defects:
            replica["DeletionProtectionEnabled"] = False
            replica_l2["deletionProtection"] = False
        if gsis:
            replica["GlobalSecondaryIndexes"] = [{"IndexName": g["IndexName"]} for g in gsis]
        if provisioned:
            replica["ReadProvisionedThroughputSettings"] = {"ReadCapacityUnits": 10}
        if tags:
            replica["Tags"] = tags
        replicas.append(replica)
        if replica_region != region:
            replica_l2["region"] = "*"
            l2_replicas.append(replica_l2)
    props["Replicas"] = replicas
    l2["replicas"] = l2_replicas
    methods += [{"addReplica": [r]} for r in l2_replicas]

    tree_props = json.loads(json.dumps(props))
    uses_condition = False
    if "fn_if_pitr" in defects:
        for replica in props["Replicas"]:
            replica.setdefault("PointInTimeRecoverySpecification", {})["PointInTimeRecoveryEnabled"] = fn_if()
        uses_condition = True

    return table_spec(
        "AWS::DynamoDB::GlobalTable",
        construct_id,
        props,
        tree_props,
        l2,
        methods,
        defects,
        has_name,
        uses_condition,
    )


def plan(tables: int, stacks: int, seed: int) -> list[StackSpec]:
    """Decide every stack and table (deterministic for a given seed)."""
    rng = random.Random(seed)
    result: list[StackSpec] = []
    base, extra = divmod(tables, stacks)
    for s in range(stacks):
        service = SERVICES[s % len(SERVICES)]
        name = f"{service}Stack" if s < len(SERVICES) else f"{service}Stack{s // len(SERVICES)}"
        stack = StackSpec(name=name, region=REGIONS[s % len(REGIONS)])
        used: dict[str, int] = {}
        for _ in range(base + (1 if s < extra else 0)):
            domain = rng.choice(DOMAINS)
            used[domain] = used.get(domain, 0) + 1
            suffix = "Table" if used[domain] == 1 else f"Table{used[domain]}"
            construct_id = f"{domain}{suffix}"
            if rng.random() < 0.25:
                stack.tables.append(make_global_table(rng, construct_id, stack.region))
            else:
                stack.tables.append(make_table(rng, construct_id))
        result.append(stack)
    return result


def dump_template(template: dict[str, Any]) -> str:
    """CDK writes templates with 1-space indentation and no trailing newline."""
    return json.dumps(template, indent=1, ensure_ascii=False)


def analytics_blob(stack: StackSpec) -> str:
    """The CDKMetadata Analytics string: gzip'd, base64'd construct and props list."""
    tables = [t for t in stack.tables if t.resource["Type"] == "AWS::DynamoDB::Table"]
    v2 = [t for t in stack.tables if t.resource["Type"] != "AWS::DynamoDB::Table"]

    def entries(specs: list[TableSpec]) -> str:
        data = [
            json.dumps(a["data"], separators=(",", ":"))
            for t in specs
            for a in t.analytics
            if a["type"].startswith("aws:cdk:analytics")
        ]
        return "[" + ",".join(data) + "]" if data else ""

    parts = ["Stack"]
    if stack.uses_condition:
        parts += ["CfnParameter", "CfnCondition"]
    dynamo = []
    if tables:
        dynamo += [f"Table{entries(tables)}", "CfnTable"]
    if v2:
        dynamo += [f"TableV2{entries(v2)}", "CfnGlobalTable"]
    parts.append("aws_dynamodb.{" + ",".join(dynamo) + "}")
    if tables:
        parts.append("Resource[" + ",".join(['"*"'] * len(tables)) + "]")
    text = f"{CDK_VERSION}!aws-cdk-lib.{{{','.join(parts)}}},Python/3.11.7!jsii-runtime.Runtime"
    compressed = gzip.compress(text.encode(), compresslevel=9, mtime=0)
    return "v2:deflate64:" + base64.b64encode(compressed).decode()


def bootstrap_parameter() -> dict[str, Any]:
    """The BootstrapVersion parameter every default-synthesized stack has."""
    return {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/cdk-bootstrap/{QUALIFIER}/version",
        "Description": "Version of the CDK Bootstrap resources in this environment, "
        "automatically retrieved from SSM Parameter Store. [cdk:skip]",
    }


def bootstrap_rule() -> dict[str, Any]:
    """The CheckBootstrapVersion rule."""
    return {
        "Assertions": [
            {
                "Assert": {
                    "Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]
                },
                "AssertDescription": "CDK bootstrap stack version 6 required. Please run "
                "'cdk bootstrap' with a recent version of the CDK CLI.",
            }
        ]
    }


def build_template(stack: StackSpec, cli: bool) -> dict[str, Any]:
    """The stack's CloudFormation template, sections in CDK's order."""
    template: dict[str, Any] = {}
    if stack.uses_condition:
        template["Parameters"] = {
            "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}
        }
        template["Conditions"] = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
    resources: dict[str, Any] = {}
    for table in stack.tables:
        resource = dict(table.resource)
        if cli:
            resource["Metadata"] = {"aws:cdk:path": f"{stack.name}/{table.construct_id}/Resource"}
        resources[table.logical_id] = resource
    if cli:
        resources["CDKMetadata"] = {
            "Type": "AWS::CDK::Metadata",
            "Properties": {"Analytics": analytics_blob(stack)},
            "Metadata": {"aws:cdk:path": f"{stack.name}/CDKMetadata/Default"},
        }
    template["Resources"] = resources
    template.setdefault("Parameters", {})["BootstrapVersion"] = bootstrap_parameter()
    template["Rules"] = {"CheckBootstrapVersion": bootstrap_rule()}
    return template


def build_metadata(stack: StackSpec, cli: bool) -> dict[str, list[dict[str, Any]]]:
    """<Stack>.metadata.json, in CDK's breadth-first construct order."""
    s = f"/{stack.name}"
    meta: dict[str, list[dict[str, Any]]] = {
        s: [
            {"type": "aws:cdk:creationStack", "data": TRACE_APP},
            {"type": "aws:cdk:templateFile", "data": f"{stack.name}.template.json"},
        ]
    }

    def logical(logical_id: str, trace: list[str]) -> list[dict[str, Any]]:
        return [
            {"type": "aws:cdk:logicalId", "data": logical_id},
            {"type": "aws:cdk:creationStack", "data": trace},
        ]

    if stack.uses_condition:
        meta[f"{s}/Stage"] = logical("Stage", TRACE_APP)
        meta[f"{s}/IsProd"] = logical("IsProd", TRACE_APP)
    for table in stack.tables:
        meta[f"{s}/{table.construct_id}"] = table.analytics
    meta[f"{s}/BootstrapVersion"] = logical("BootstrapVersion", TRACE_LIB)
    meta[f"{s}/CheckBootstrapVersion"] = logical("CheckBootstrapVersion", TRACE_LIB)
    for table in stack.tables:
        meta[f"{s}/{table.construct_id}/Resource"] = logical(table.logical_id, TRACE_L1)
        if table.resource["Type"] == "AWS::DynamoDB::Table":
            meta[f"{s}/{table.construct_id}/ScalingRole"] = [
                {"type": "aws:cdk:analytics:construct", "data": "*"}
            ]
    if cli:
        meta[f"{s}/CDKMetadata/Default"] = logical("CDKMetadata", TRACE_CDKMETA)
    return meta


def node(path: str, fqn: str, version: str = CDK_VERSION, **extra: Any) -> dict[str, Any]:
    """A tree.json node."""
    result: dict[str, Any] = {
        "id": path.rsplit("/", 1)[-1] if path else "App",
        "path": path,
        "constructInfo": {"fqn": fqn, "version": version},
    }
    result.update(extra)
    return result


def build_tree(stacks: list[StackSpec], cli: bool) -> dict[str, Any]:
    """tree.json: App > stacks > constructs, with the L1 props in jsii casing."""
    app_children: dict[str, Any] = {}
    for stack in stacks:
        children: dict[str, Any] = {}
        if stack.uses_condition:
            children["Stage"] = node(f"{stack.name}/Stage", "aws-cdk-lib.CfnParameter")
            children["IsProd"] = node(f"{stack.name}/IsProd", "aws-cdk-lib.CfnCondition")
        for table in stack.tables:
            path = f"{stack.name}/{table.construct_id}"
            is_v1 = table.resource["Type"] == "AWS::DynamoDB::Table"
            l1 = "CfnTable" if is_v1 else "CfnGlobalTable"
            sub: dict[str, Any] = {
                "Resource": node(
                    f"{path}/Resource",
                    f"aws-cdk-lib.aws_dynamodb.{l1}",
                    attributes={
                        "aws:cdk:cloudformation:type": table.resource["Type"],
                        "aws:cdk:cloudformation:logicalId": table.logical_id,
                        "aws:cdk:cloudformation:props": camelize(table.tree_props),
                    },
                )
            }
            if is_v1:
                sub["ScalingRole"] = node(f"{path}/ScalingRole", "aws-cdk-lib.Resource")
            fqn = "aws-cdk-lib.aws_dynamodb." + ("Table" if is_v1 else "TableV2")
            children[table.construct_id] = node(path, fqn, children=sub)
        children["BootstrapVersion"] = node(f"{stack.name}/BootstrapVersion", "aws-cdk-lib.CfnParameter")
        children["CheckBootstrapVersion"] = node(f"{stack.name}/CheckBootstrapVersion", "aws-cdk-lib.CfnRule")
        if cli:
            children["CDKMetadata"] = node(
                f"{stack.name}/CDKMetadata",
                "constructs.Construct",
                CONSTRUCTS_VERSION,
                children={"Default": node(f"{stack.name}/CDKMetadata/Default", "aws-cdk-lib.CfnResource")},
            )
        app_children[stack.name] = node(stack.name, "aws-cdk-lib.Stack", children=children)
    app_children["Tree"] = node("Tree", "constructs.Construct", CONSTRUCTS_VERSION)
    return {"version": "tree-0.1", "tree": node("", "aws-cdk-lib.App", children=app_children)}


def role_arn(kind: str, region: str) -> str:
    """A bootstrap role ARN as the default stack synthesizer writes it."""
    return f"arn:${{AWS::Partition}}:iam::{ACCOUNT}:role/cdk-{QUALIFIER}-{kind}-role-{ACCOUNT}-{region}"


def stack_artifacts(stack: StackSpec, template_hash: str) -> dict[str, Any]:
    """The asset-manifest and stack artifacts of one stack in manifest.json."""
    ssm = f"/cdk-bootstrap/{QUALIFIER}/version"
    assets = f"{stack.name}.assets"
    return {
        assets: {
            "type": "cdk:asset-manifest",
            "properties": {
                "file": f"{stack.name}.assets.json",
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": ssm,
            },
        },
        stack.name: {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{ACCOUNT}/{stack.region}",
            "properties": {
                "templateFile": f"{stack.name}.template.json",
                "terminationProtection": False,
                "validateOnSynth": False,
                "assumeRoleArn": role_arn("deploy", stack.region),
                "cloudFormationExecutionRoleArn": role_arn("cfn-exec", stack.region),
                "stackTemplateAssetObjectUrl": (
                    f"s3://cdk-{QUALIFIER}-assets-{ACCOUNT}-{stack.region}/{template_hash}.json"
                ),
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": ssm,
                "additionalDependencies": [assets],
                "lookupRole": {
                    "arn": role_arn("lookup", stack.region),
                    "requiresBootstrapStackVersion": 8,
                    "bootstrapStackVersionSsmParameter": ssm,
                },
            },
            "dependencies": [assets],
            "additionalMetadataFile": f"{stack.name}.metadata.json",
            "displayName": stack.name,
        },
    }


def assets_manifest(stack: StackSpec, template_hash: str) -> dict[str, Any]:
    """<Stack>.assets.json: the template itself is the only file asset."""
    r = stack.region
    return {
        "version": SCHEMA_VERSION,
        "files": {
            template_hash: {
                "displayName": f"{stack.name} Template",
                "source": {"path": f"{stack.name}.template.json", "packaging": "file"},
                "destinations": {
                    f"{ACCOUNT}-{r}-{hashlib.sha256(r.encode()).hexdigest()[:8]}": {
                        "bucketName": f"cdk-{QUALIFIER}-assets-{ACCOUNT}-{r}",
                        "objectKey": f"{template_hash}.json",
                        "region": r,
                        "assumeRoleArn": role_arn("file-publishing", r),
                    }
                },
            }
        },
        "dockerImages": {},
    }


def write_json(path: Path, data: Any, indent: int | None = 2) -> None:
    """Write JSON the way the CDK does (no trailing newline)."""
    if indent is None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(data, indent=indent, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")


def generate(
    out: Path,
    tables: int = 1000,
    stacks: int = 5,
    seed: int = 2275,
    style: str = "cli",
    tree: bool = True,
) -> dict[str, Any]:
    """Write the assembly into ``out`` (emptied first) and return a summary of it."""
    if stacks < 1 or tables < 0:
        raise ValueError("need --stacks >= 1 and --tables >= 0")
    cli = style == "cli"
    specs = plan(tables, stacks, seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    artifacts: dict[str, Any] = {}
    defect_counts: dict[str, int] = {}
    kinds = {"AWS::DynamoDB::Table": 0, "AWS::DynamoDB::GlobalTable": 0}
    for stack in specs:
        resources = len(stack.tables) + (1 if cli else 0)
        if resources > MAX_RESOURCES_PER_STACK:
            print(
                f"warning: {stack.name} has {resources} resources; CloudFormation allows "
                f"{MAX_RESOURCES_PER_STACK} per stack",
                file=sys.stderr,
            )
        text = dump_template(build_template(stack, cli))
        (out / f"{stack.name}.template.json").write_text(text, encoding="utf-8")
        template_hash = hashlib.sha256(text.encode()).hexdigest()
        write_json(out / f"{stack.name}.assets.json", assets_manifest(stack, template_hash))
        write_json(out / f"{stack.name}.metadata.json", build_metadata(stack, cli))
        artifacts.update(stack_artifacts(stack, template_hash))
        for table in stack.tables:
            kinds[table.resource["Type"]] += 1
            for defect in table.defects or ["good"]:
                defect_counts[defect] = defect_counts.get(defect, 0) + 1

    if tree:
        artifacts["Tree"] = {"type": "cdk:tree", "properties": {"file": "tree.json"}}
        write_json(out / "tree.json", build_tree(specs, cli), indent=None)
    artifacts["aws-cdk-lib/feature-flag-report"] = {
        "type": "cdk:feature-flag-report",
        "properties": {"module": "aws-cdk-lib", "flags": FEATURE_FLAGS},
    }
    manifest = {
        "version": SCHEMA_VERSION,
        "artifacts": artifacts,
        "minimumCliVersion": MIN_CLI_VERSION,
    }
    write_json(out / "manifest.json", manifest)
    write_json(out / "cdk.out", {"version": SCHEMA_VERSION}, indent=None)
    write_json(
        out / "validation-report.json",
        {"version": SCHEMA_VERSION, "title": "Validation Report", "pluginReports": []},
    )
    return {
        "out": str(out),
        "stacks": len(specs),
        "tables": sum(kinds.values()),
        "types": kinds,
        "tables_by_defect": dict(sorted(defect_counts.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000, help="number of tables (1000)")
    parser.add_argument("--stacks", type=int, default=5, help="number of stacks (5)")
    parser.add_argument("--out", type=Path, required=True, help="assembly directory to write")
    parser.add_argument("--seed", type=int, default=2275, help="random seed (2275)")
    parser.add_argument(
        "--style",
        choices=["cli", "app"],
        default="cli",
        help="cli: as `cdk synth` writes it (aws:cdk:path metadata, CDKMetadata resource); "
        "app: as a bare app.synth() writes it",
    )
    parser.add_argument("--no-tree", action="store_true", help="do not write tree.json")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    try:
        summary = generate(args.out, args.tables, args.stacks, args.seed, args.style, not args.no_tree)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.quiet:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
