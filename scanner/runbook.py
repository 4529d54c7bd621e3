"""The recreation runbook of one table, rendered from its blueprint alone.

The runbook must work when the audit's account access is gone, so it only reads the
blueprint. The route it describes is SPEC's: stop writes, export with PITR, create a new
table from the export with CDK ``importSource``, re-apply what an import cannot carry (or
restore with PITR and ``cdk import`` when the table has local secondary indexes), validate
the item count, switch references, retire the old table on purpose.

The CDK code of both languages is rendered from one neutral description of the construct
(``_Construct``), so the Python and TypeScript snippets cannot disagree; every value from
the blueprint goes through ``json.dumps``, a valid string literal in both languages.

Everything in a blueprint was read from AWS APIs and is untrusted: in the Markdown each value
is an inline code span it cannot close or escaped prose, and in a shell command one quoted
word (``tablesafe.neutralize``), so that pasting a command runs only that command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tablesafe.neutralize import markdown_cell, markdown_code, markdown_fence, markdown_text, shell
from tablesafe.rules.ts004_removal_policy_not_retain import SAFE_DELETION_POLICIES

from .blueprint import pitr_view

ATTRIBUTE_TYPES = {"S": "STRING", "N": "NUMBER", "B": "BINARY"}

EXPORT_BUCKET_PLACEHOLDER = "REPLACE-WITH-EXPORT-BUCKET"
EXPORT_ID_PLACEHOLDER = "REPLACE-WITH-EXPORT-ID"

PYTHON = "python"
TYPESCRIPT = "typescript"


@dataclass(frozen=True, slots=True)
class _Raw:
    """Code that differs between the languages, given verbatim for each."""

    python: str
    typescript: str


@dataclass(frozen=True, slots=True)
class _Struct:
    """A props object: a keyword-argument class in Python, an object literal in TypeScript."""

    python_class: str
    fields: Mapping[str, Any]


@dataclass(slots=True)
class _Construct:
    """The table construct, the calls made on it afterwards, and the modules they need."""

    construct_id: str
    props: dict[str, Any]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(snake_case method, props): keyword arguments in Python, one object in TypeScript."""
    tags: dict[str, str] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)
    """Extra aws_cdk modules used: "kms", "s3"."""
    constants: dict[str, str] = field(default_factory=dict)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _literal(value: Any, lang: str) -> str:
    if isinstance(value, _Raw):
        return value.python if lang == PYTHON else value.typescript
    if isinstance(value, bool):
        return ("True" if value else "False") if lang == PYTHON else ("true" if value else "false")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    # Any other value is an API answer that breaks its own model: a string literal of it fails
    # the synth visibly, and never becomes code.
    return json.dumps(json.dumps(value, default=str))


def _render(value: Any, lang: str, indent: int) -> str:
    """A value as code; a _Struct or list that does not fit on one line is spread over lines."""
    flat = _render_flat(value, lang)
    if len(flat) + indent <= 100 or not isinstance(value, _Struct | list):
        return flat
    step = 4 if lang == PYTHON else 2
    pad, inner = " " * indent, " " * (indent + step)
    if isinstance(value, list):
        items = [f"{inner}{_render(item, lang, indent + step)}," for item in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    if lang == PYTHON:
        items = [f"{inner}{key}={_render(item, lang, indent + step)}," for key, item in value.fields.items()]
        return f"{value.python_class}(\n" + "\n".join(items) + f"\n{pad})"
    items = [
        f"{inner}{_camel(key)}: {_render(item, lang, indent + step)}," for key, item in value.fields.items()
    ]
    return "{\n" + "\n".join(items) + f"\n{pad}}}"


def _render_flat(value: Any, lang: str) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_render_flat(item, lang) for item in value) + "]"
    if isinstance(value, _Struct):
        if lang == PYTHON:
            args = ", ".join(f"{key}={_render_flat(item, lang)}" for key, item in value.fields.items())
            return f"{value.python_class}({args})"
        args = ", ".join(f"{_camel(key)}: {_render_flat(item, lang)}" for key, item in value.fields.items())
        return "{ " + args + " }" if args else "{}"
    return _literal(value, lang)


def _identifier(name: str, suffix: str = "") -> str:
    """A CamelCase identifier from a table name (Orders-prod.v2 -> OrdersProdV2)."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    ident = "".join(word[:1].upper() + word[1:] for word in words) or "Table"
    return ("Table" + ident if ident[0].isdigit() else ident) + suffix


def _python(construct: _Construct, class_name: str) -> str:
    lines = ["from aws_cdk import RemovalPolicy, Stack" + (", Tags" if construct.tags else "")]
    lines += ["from aws_cdk import aws_dynamodb as dynamodb"]
    lines += [f"from aws_cdk import aws_{module} as {module}" for module in sorted(construct.modules)]
    lines += ["from constructs import Construct", ""]
    if construct.constants:
        lines += [f"{name} = {json.dumps(value)}" for name, value in construct.constants.items()]
        lines += [""]
    lines += [
        "",
        f"class {class_name}(Stack):",
        "    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:",
        "        super().__init__(scope, construct_id, **kwargs)",
        "        table = dynamodb.Table(",
        "            self,",
        f"            {json.dumps(construct.construct_id)},",
    ]
    lines += [f"            {key}={_render(value, PYTHON, 12)}," for key, value in construct.props.items()]
    lines += ["        )"]
    for method, argument in construct.calls:
        lines += [f"        table.{method}("]
        lines += [f"            {key}={_render(value, PYTHON, 12)}," for key, value in argument.items()]
        lines += ["        )"]
    lines += [
        f"        Tags.of(table).add({json.dumps(k)}, {json.dumps(v)})" for k, v in construct.tags.items()
    ]
    return "\n".join(lines) + "\n"


def _typescript(construct: _Construct, class_name: str) -> str:
    lines = ['import * as cdk from "aws-cdk-lib";', 'import * as dynamodb from "aws-cdk-lib/aws-dynamodb";']
    lines += [
        f'import * as {module} from "aws-cdk-lib/aws-{module}";' for module in sorted(construct.modules)
    ]
    lines += ['import { Construct } from "constructs";', ""]
    if construct.constants:
        lines += [f"const {name} = {json.dumps(value)};" for name, value in construct.constants.items()]
        lines += [""]
    lines += [
        f"export class {class_name} extends cdk.Stack {{",
        "  constructor(scope: Construct, id: string, props?: cdk.StackProps) {",
        "    super(scope, id, props);",
        f"    const table = new dynamodb.Table(this, {json.dumps(construct.construct_id)}, {{",
    ]
    lines += [
        f"      {_camel(key)}: {_render(value, TYPESCRIPT, 6)}," for key, value in construct.props.items()
    ]
    lines += ["    });"]
    for method, argument in construct.calls:
        lines += [f"    table.{_camel(method)}({{"]
        lines += [f"      {_camel(key)}: {_render(v, TYPESCRIPT, 6)}," for key, v in argument.items()]
        lines += ["    });"]
    lines += [
        f"    cdk.Tags.of(table).add({json.dumps(k)}, {json.dumps(v)});" for k, v in construct.tags.items()
    ]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _render_code(construct: _Construct, class_name: str) -> dict[str, str]:
    """{"python": ..., "typescript": ...}: the same stack in both languages."""
    return {PYTHON: _python(construct, class_name), TYPESCRIPT: _typescript(construct, class_name)}


def _attribute(name: str, attribute_type: str) -> _Struct:
    kind = ATTRIBUTE_TYPES.get(attribute_type, "STRING")
    return _Struct("dynamodb.Attribute", {"name": name, "type": _enum("AttributeType", kind)})


def _key_props(key_schema: Sequence[Mapping[str, str]], types: Mapping[str, str]) -> dict[str, Any]:
    """partition_key / sort_key, or partition_keys / sort_keys for a multi-attribute key."""
    props: dict[str, Any] = {}
    for key_type, single in (("HASH", "partition_key"), ("RANGE", "sort_key")):
        names = [key["AttributeName"] for key in key_schema if key["KeyType"] == key_type]
        if len(names) == 1:
            props[single] = _attribute(names[0], types.get(names[0], "S"))
        elif names:
            props[single + "s"] = [_attribute(name, types.get(name, "S")) for name in names]
    return props


def _enum(type_name: str, member: str) -> _Raw:
    """dynamodb.<type_name>.<member>, spelled the same in both languages. A member read from
    an API is made an identifier first: a value that names no member fails the synth, it never
    becomes code."""
    member = re.sub(r"\W", "_", str(member), flags=re.ASCII) or "_"
    return _Raw(f"dynamodb.{type_name}.{member}", f"dynamodb.{type_name}.{member}")


IMPORTED_SUFFIX = "-imported"
RESTORED_SUFFIX = "-restored"


def _positive(throughput: Mapping[str, Any] | None, key: str) -> int | None:
    """On-demand maxima: -1 (or absent) means no maximum."""
    value = (throughput or {}).get(key)
    return value if isinstance(value, int) and value > 0 else None


def _capacity_props(
    index_or_billing: Mapping[str, Any], provisioned: Mapping[str, Any] | None
) -> dict[str, Any]:
    """read_capacity / write_capacity and max_read/write_request_units of a table or an index."""
    props: dict[str, Any] = {}
    if provisioned:
        props["read_capacity"] = provisioned.get("ReadCapacityUnits")
        props["write_capacity"] = provisioned.get("WriteCapacityUnits")
    on_demand = index_or_billing.get("OnDemandThroughput") or index_or_billing.get("on_demand_throughput")
    for key, prop in (
        ("MaxReadRequestUnits", "max_read_request_units"),
        ("MaxWriteRequestUnits", "max_write_request_units"),
    ):
        if _positive(on_demand, key):
            props[prop] = on_demand[key]
    return {key: value for key, value in props.items() if value is not None}


def _projection_props(projection: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "projection_type": _enum("ProjectionType", projection.get("ProjectionType", "ALL"))
    }
    if projection.get("NonKeyAttributes"):
        props["non_key_attributes"] = list(projection["NonKeyAttributes"])
    return props


def _kms_key_arn(bp: Mapping[str, Any]) -> str | None:
    sse = bp.get("sse") or {}
    return sse.get("kms_key_arn") if sse.get("type") == "KMS" else None


def _construct(bp: Mapping[str, Any], *, restore: bool) -> _Construct:
    """The new table: from the export (importSource), or the PITR-restored table to cdk-import.

    The restored table keeps the LSIs, and is described without the settings a restore does
    not copy, so that ``cdk import`` finds the table as it is; they are deployed afterwards.
    """
    name = bp["table_name"]
    types = {a["AttributeName"]: a["AttributeType"] for a in bp.get("attribute_definitions") or []}
    props: dict[str, Any] = {"table_name": name + (RESTORED_SUFFIX if restore else IMPORTED_SUFFIX)}
    props.update(_key_props(bp["key_schema"], types))
    construct = _Construct(construct_id=_identifier(name, "Restored" if restore else "Imported"), props=props)
    billing = bp.get("billing") or {}
    provisioned = billing.get("mode") == "PROVISIONED"
    props["billing_mode"] = _enum("BillingMode", "PROVISIONED" if provisioned else "PAY_PER_REQUEST")
    props.update(_capacity_props(billing, billing.get("provisioned_throughput") if provisioned else None))
    if bp.get("table_class") and bp["table_class"] != "STANDARD":
        props["table_class"] = _enum("TableClass", bp["table_class"])
    key_arn = _kms_key_arn(bp)
    if key_arn:
        construct.modules.add("kms")
        props["encryption"] = _enum("TableEncryption", "CUSTOMER_MANAGED")
        props["encryption_key"] = _Raw(
            f'kms.Key.from_key_arn(self, "TableKey", {json.dumps(key_arn)})',
            f'kms.Key.fromKeyArn(this, "TableKey", {json.dumps(key_arn)})',
        )
    if not restore:
        construct.modules.add("s3")
        construct.constants = {"EXPORT_BUCKET": EXPORT_BUCKET_PLACEHOLDER, "EXPORT_ID": EXPORT_ID_PLACEHOLDER}
        key_prefix = f'{json.dumps(f"{export_prefix(bp)}/AWSDynamoDB/")} + EXPORT_ID + "/data/"'
        props["import_source"] = _Struct(
            "dynamodb.ImportSourceSpecification",
            {
                "bucket": _Raw(
                    's3.Bucket.from_bucket_name(self, "ExportBucket", EXPORT_BUCKET)',
                    's3.Bucket.fromBucketName(this, "ExportBucket", EXPORT_BUCKET)',
                ),
                "input_format": _Raw(
                    "dynamodb.InputFormat.dynamo_db_json()", "dynamodb.InputFormat.dynamoDBJson()"
                ),
                "compression_type": _enum("InputCompressionType", "GZIP"),
                "key_prefix": _Raw(key_prefix, key_prefix),
            },
        )
        stream = bp.get("stream") or {}
        if stream.get("enabled") and stream.get("view_type"):
            props["stream"] = _enum("StreamViewType", stream["view_type"])
        ttl = bp.get("ttl") or {}
        if ttl.get("attribute") and ttl.get("status") in ("ENABLED", "ENABLING"):
            props["time_to_live_attribute"] = ttl["attribute"]
        pitr: dict[str, Any] = {"point_in_time_recovery_enabled": True}
        period = (bp.get("pitr") or {}).get("recovery_period_days")
        if period:
            pitr["recovery_period_in_days"] = period
        props["point_in_time_recovery_specification"] = _Struct(
            "dynamodb.PointInTimeRecoverySpecification", pitr
        )
        props["deletion_protection"] = True
        construct.tags = dict(bp.get("tags") or {})
    props["removal_policy"] = _Raw("RemovalPolicy.RETAIN", "cdk.RemovalPolicy.RETAIN")
    for gsi in bp.get("global_secondary_indexes") or []:
        index = {"index_name": gsi["IndexName"], **_key_props(gsi["KeySchema"], types)}
        index.update(_projection_props(gsi.get("Projection") or {}))
        index.update(_capacity_props(gsi, gsi.get("ProvisionedThroughput") if provisioned else None))
        construct.calls.append(("add_global_secondary_index", index))
    if restore:
        for lsi in bp.get("local_secondary_indexes") or []:
            index = {"index_name": lsi["IndexName"], **_key_props(lsi["KeySchema"], types)}
            index.pop("partition_key", None)
            index.update(_projection_props(lsi.get("Projection") or {}))
            construct.calls.append(("add_local_secondary_index", index))
    return construct


def cdk_code(bp: Mapping[str, Any], *, restore: bool = False) -> dict[str, str]:
    """{"python": ..., "typescript": ...} of the new table's stack (see _construct)."""
    construct = _construct(bp, restore=restore)
    return _render_code(construct, _identifier(bp["table_name"], "RestoredStack" if restore else "Stack"))


# --- the runbook -------------------------------------------------------------------------


def export_prefix(bp: Mapping[str, Any]) -> str:
    """The S3 prefix of this table's exports: one folder per table, each export in its own id."""
    return f"tablesafe-exports/{bp['account']}/{bp['region']}/{bp['table_name']}"


def table_arn(bp: Mapping[str, Any]) -> str:
    """The table's ARN: the blueprint's, else built from its account, region and name."""
    if bp.get("table_arn"):
        return str(bp["table_arn"])
    region = str(bp["region"])
    partition = (
        "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    )
    return f"arn:{partition}:dynamodb:{region}:{bp['account']}:table/{bp['table_name']}"


def _fence(lang: str, text: str) -> str:
    fence = markdown_fence(text)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _jmespath_string(value: str) -> str:
    """A JMESPath string literal of any value: JSON in backticks, its own backticks escaped."""
    return "`" + json.dumps(value).replace("`", "\\`") + "`"


def _bash(*lines: str) -> str:
    return _fence("bash", "\n".join(lines))


def import_parameters(bp: Mapping[str, Any]) -> dict[str, Any]:
    """ImportTable's TableCreationParameters: what an import can set, and only that.

    AttributeDefinitions are limited to the attributes the table and GSI keys use: an LSI
    cannot be imported, and an unused attribute definition is a ValidationException.
    """
    billing = bp.get("billing") or {}
    gsis = [
        {
            key: gsi[key]
            for key in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")
            if gsi.get(key)
        }
        for gsi in bp.get("global_secondary_indexes") or []
    ]
    used = {
        key["AttributeName"]
        for schema in [bp["key_schema"], *(g["KeySchema"] for g in gsis)]
        for key in schema
    }
    params: dict[str, Any] = {
        "TableName": bp["table_name"] + IMPORTED_SUFFIX,
        "AttributeDefinitions": [
            a for a in bp.get("attribute_definitions") or [] if a["AttributeName"] in used
        ],
        "KeySchema": bp["key_schema"],
        "BillingMode": billing.get("mode", "PAY_PER_REQUEST"),
    }
    if billing.get("provisioned_throughput"):
        params["ProvisionedThroughput"] = billing["provisioned_throughput"]
    if billing.get("on_demand_throughput"):
        params["OnDemandThroughput"] = billing["on_demand_throughput"]
    key_arn = _kms_key_arn(bp)
    if key_arn:
        params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn}
    if gsis:
        params["GlobalSecondaryIndexes"] = gsis
    return params


def _keys_text(bp: Mapping[str, Any]) -> str:
    if bp.get("key_schema") is None:
        return "unknown"
    types = {a["AttributeName"]: a["AttributeType"] for a in bp.get("attribute_definitions") or []}
    role = {"HASH": "partition key", "RANGE": "sort key"}
    keys = [(k["AttributeName"], role.get(k["KeyType"], k["KeyType"])) for k in bp["key_schema"]]
    return ", ".join(
        f"{markdown_code(name)} ({markdown_text(types.get(name, '?'))}, {markdown_text(kind)})"
        for name, kind in keys
    )


def _pitr_text(pitr: Mapping[str, Any] | None) -> str:
    """The PITR state as Markdown prose."""
    if pitr is None:
        return "unknown (DescribeContinuousBackups could not be read)"
    text = markdown_text(pitr.get("status") or "unknown")
    if pitr.get("recovery_period_days"):
        text += f", recovery period {markdown_text(pitr['recovery_period_days'])} days"
    if pitr_view(pitr)["just_enabled"]:
        text += ", enabled just now (nothing to restore to yet)"
    elif pitr.get("earliest_restorable"):
        earliest, latest = (
            markdown_code(pitr.get(key)) for key in ("earliest_restorable", "latest_restorable")
        )
        text += f", restorable from {earliest} to {latest}"
    return text


def _stack_text(bp: Mapping[str, Any]) -> str:
    stack = bp.get("stack")
    if stack:
        details = [f"logical ID {markdown_code(stack['logical_id'])}" if stack.get("logical_id") else None]
        if stack.get("construct_path"):
            details.append(f"construct path {markdown_code(stack['construct_path'])}")
        details.append(f"DeletionPolicy {_deletion_policy_text(stack)}")
        return f"{markdown_code(stack['name'])} (" + ", ".join(d for d in details if d) + ")"
    return "none: no CloudFormation stack manages it" if bp.get("stack_known") else "unknown"


def _deletion_policy_text(stack: Mapping[str, Any]) -> str:
    """The stack's DeletionPolicy for the table, as Markdown prose."""
    if stack.get("template_read") is False:
        return "unknown (the stack template could not be read)"
    policy = stack.get("deletion_policy")
    return markdown_text(policy) if policy else "absent (Delete)"


def _drill_text(drill: Mapping[str, Any]) -> str:
    """'last proven: 2026-12-07, 14 min, 120,000 items, 1,000 sampled equal', and the last
    drill when it did not prove the table."""
    shown = drill["line"]
    last = drill.get("last")
    if last and last.get("verdict") != "proven":
        shown += f"; last drill {last['date']}: {last['verdict']}"
    return markdown_text(shown)


def _on_off(value: Any) -> str:
    return "unknown" if value is None else "on" if value else "off"


def _unknowns(bp: Mapping[str, Any]) -> list[str]:
    """What this blueprint lacks, each with how to read it by hand."""
    name, region = bp["table_name"], bp["region"]
    missing = [
        f"{markdown_code(p['api'])} ({markdown_text(p['region'])}): {markdown_text(p['message'])}"
        for p in bp.get("unreadable") or []
    ]
    checks = (
        ("key_schema", "keys, indexes, billing, encryption", f"describe-table --table-name {shell(name)}"),
        ("pitr", "PITR", f"describe-continuous-backups --table-name {shell(name)}"),
        ("ttl", "TTL", f"describe-time-to-live --table-name {shell(name)}"),
        ("tags", "tags", f"list-tags-of-resource --resource-arn {shell(table_arn(bp))}"),
    )
    missing += [
        f"{what}: {markdown_code(f'aws dynamodb {command} --region {shell(region)}')}"
        for key, what, command in checks
        if bp.get(key) is None
    ]
    if not bp.get("stack_known"):
        missing.append("the owning CloudFormation stack (and its DeletionPolicy)")
    return missing


def _header(bp: Mapping[str, Any]) -> list[str]:
    rows = [
        ("Account", markdown_code(bp["account"])),
        ("Region", markdown_code(bp["region"])),
        ("ARN", markdown_code(table_arn(bp))),
        ("Status", markdown_text(bp.get("status") or "unknown")),
        ("Keys", _keys_text(bp)),
        (
            "Items (approximate)",
            f"{markdown_text(bp['item_count'])} ({markdown_text(bp.get('size_bytes'))} bytes)"
            if bp.get("item_count") is not None
            else "unknown",
        ),
        ("PITR", _pitr_text(bp.get("pitr"))),
        ("Deletion protection", _on_off(bp.get("deletion_protection"))),
        ("Owning stack", _stack_text(bp)),
    ]
    if "drill" in bp:  # the audit read drill results (tablesafe drill)
        rows.append(("Recreation drill", _drill_text(bp["drill"])))
    lines = [f"# Recreate DynamoDB table {markdown_code(bp['table_name'])}", ""]
    lines += ["This runbook builds a new copy of the table from a point-in-time export and retires the old"]
    lines += ["table only on purpose. It was written from the table's blueprint (the `.json` beside it).", ""]
    lines += [
        "| Property | Value |",
        "|---|---|",
        *(f"| {key} | {markdown_cell(value)} |" for key, value in rows),
    ]
    unknown = _unknowns(bp)
    if unknown:
        lines += [
            "",
            "> **Partial blueprint.** The audit could not read everything; check these by hand first:",
        ]
        lines += [f"> - {item}" for item in unknown]
    return lines


def _step_stop_writes(bp: Mapping[str, Any]) -> list[str]:
    name, region, arn = bp["table_name"], bp["region"], table_arn(bp)
    regions = [
        region,
        *(r["region"] for r in bp.get("replicas") or [] if r.get("region") and r["region"] != region),
    ]
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TablesafeStopWrites",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:PartiQLInsert",
                    "dynamodb:PartiQLUpdate",
                    "dynamodb:PartiQLDelete",
                ],
                "Resource": arn,
            }
        ],
    }
    lines = ["## 1. Stop writes", ""]
    lines += [
        "An export is a copy of one moment: every write after it is lost to the new table. Stop the",
        "writers first: scale the services that write to zero or put them in maintenance mode, set the",
        "reserved concurrency of writing Lambda functions to 0, disable event source mappings and",
        "schedules that write. To make sure, deny writes on the table itself (save any existing",
        "resource policy first with `aws dynamodb get-resource-policy`; this replaces it, and",
        "`aws dynamodb delete-resource-policy` undoes it if you stop half-way):",
        "",
        _bash(
            f"aws dynamodb put-resource-policy --resource-arn {shell(arn)} --region {shell(region)} \\",
            f"  --policy {shell(json.dumps(deny))}",
        ),
        "",
        "Verify that no writes arrive: the CloudWatch metric `ConsumedWriteCapacityUnits` must stay at",
        "0 for several minutes (GNU `date`; on macOS use `date -u -v-15M ...`)"
        + (":" if len(regions) == 1 else ", in every replica region:"),
        "",
    ]
    lines.append(
        _bash(
            *(
                "aws cloudwatch get-metric-statistics --namespace AWS/DynamoDB \\\n"
                "  --metric-name ConsumedWriteCapacityUnits --dimensions "
                f"{shell(f'Name=TableName,Value={name}')} \\\n"
                f"  --statistics Sum --period 60 --region {shell(r)} \\\n"
                "  --start-time \"$(date -u -d '-15 minutes' +%Y-%m-%dT%H:%M:%SZ)\" \\\n"
                '  --end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)"'
                for r in regions
            )
        )
    )
    return lines


def _step_pitr(bp: Mapping[str, Any]) -> list[str]:
    name, region = bp["table_name"], bp["region"]
    pitr = bp.get("pitr")
    status = pitr.get("status") if pitr else None
    lines = ["## 2. Point-in-time recovery", ""]
    if status == "ENABLED":
        return [*lines, f"PITR is enabled ({_pitr_text(pitr)}): nothing to do, the export can start."]
    lines.append(
        "The export needs PITR, and PITR is "
        + ("**off** on this table" if pitr else "**unknown** (the audit could not read it): check it, and")
        + ". Enable it first, and keep it on afterwards (rule TS001):"
    )
    lines += [
        "",
        _bash(
            f"aws dynamodb update-continuous-backups --table-name {shell(name)} --region {shell(region)} \\",
            "  --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
            f"aws dynamodb describe-continuous-backups --table-name {shell(name)} \\",
            f"  --region {shell(region)} \\",
            "  --query ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus",
        ),
        "",
        "Wait until the status is `ENABLED` before you start the export.",
    ]
    return lines


def _step_export(bp: Mapping[str, Any]) -> list[str]:
    region = bp["region"]
    return [
        "## 3. Export the table to S3",
        "",
        f"Use an S3 bucket you own (in {markdown_code(region)} for the import to read it; set",
        "`--s3-bucket-owner` for a bucket of another account). The export reads the PITR backup, not",
        "the table: it consumes no read capacity.",
        "",
        _bash(
            f"EXPORT_BUCKET={EXPORT_BUCKET_PLACEHOLDER}",
            f"EXPORT_PREFIX={shell(export_prefix(bp))}",
            "EXPORT_ARN=$(aws dynamodb export-table-to-point-in-time \\",
            f"  --table-arn {shell(table_arn(bp))} \\",
            '  --s3-bucket "$EXPORT_BUCKET" --s3-prefix "$EXPORT_PREFIX" \\',
            f"  --export-format DYNAMODB_JSON --region {shell(region)} \\",
            "  --query ExportDescription.ExportArn --output text)",
            'echo "$EXPORT_ARN"',
        ),
    ]


def _step_wait(bp: Mapping[str, Any]) -> list[str]:
    region = bp["region"]
    return [
        "## 4. Wait for the export",
        "",
        "Repeat until the status is `COMPLETED` (`FAILED` says why in `FailureMessage`):",
        "",
        _bash(
            f'aws dynamodb describe-export --export-arn "$EXPORT_ARN" --region {shell(region)} \\',
            "  --query 'ExportDescription.[ExportStatus,ItemCount,FailureMessage]' --output text",
            'EXPORT_ID="${EXPORT_ARN##*/}"',
            'aws s3 ls "s3://$EXPORT_BUCKET/$EXPORT_PREFIX/AWSDynamoDB/$EXPORT_ID/"',
        ),
        "",
        "The export lands in `$EXPORT_PREFIX/AWSDynamoDB/<export-id>/`: `manifest-summary.json` (with",
        "`itemCount`), `manifest-files.json`, and the items in `data/*.json.gz`. The export id is the",
        "last part of the export ARN. The import reads the `data/` folder only.",
    ]


def _step_new_table(bp: Mapping[str, Any]) -> list[str]:
    lines = ["## 5. Create the new table from the export", ""]
    if bp.get("key_schema") is None:
        return [
            *lines,
            "**The key schema is unknown** (DescribeTable could not be read), so no table code can be",
            "written. Read it with `aws dynamodb describe-table` and run "
            + markdown_code(f"tablesafe runbook {shell(bp['table_name'])} --region {shell(bp['region'])}")
            + " again.",
        ]
    name, region = bp["table_name"], bp["region"]
    import_file = re.sub(r"[^A-Za-z0-9_.-]", "_", name) + "-import.json"  # stays in the working directory
    code = cdk_code(bp)
    if bp.get("local_secondary_indexes"):
        lines += [
            "> **This table has local secondary indexes, which an import cannot create**: see step 6 for",
            "> the PITR-restore route that keeps them.",
            "",
        ]
    lines += [
        "A `dynamodb.Table` (`TableV2` has no `importSource`) named "
        f"{markdown_code(name + IMPORTED_SUFFIX)}: the new",
        "table needs a name of its own while the old one exists. Set `EXPORT_BUCKET` and `EXPORT_ID`",
        "(step 4). CloudFormation creates the table through ImportTable and then applies the other",
        "settings; the deploy lasts as long as the import. Add `importSource` only when the table is",
        "created: changing it later replaces the table (rule TS006). Keep `RemovalPolicy.RETAIN` and",
        "deletion protection.",
    ]
    key_arn = _kms_key_arn(bp)
    if key_arn:
        lines += [
            "",
            f"The table is encrypted with the KMS key {markdown_code(key_arn)}. If",
            markdown_code(f"aws kms describe-key --key-id {shell(key_arn)} --query KeyMetadata.KeyManager")
            + " says `AWS`",
            "(the key `alias/aws/dynamodb`), use `TableEncryption.AWS_MANAGED` without `encryption_key`.",
        ]
    lines += ["", *_code_blocks(code)]
    params = json.dumps(import_parameters(bp), indent=2)
    lines += [
        "",
        "**Rehearse the import without CloudFormation** (optional; delete the rehearsal table before the",
        "deploy, or name it differently). It sets only keys, billing, encryption and GSIs:",
        "",
        _bash(
            f"cat > {shell(import_file)} <<'TABLESAFE_JSON'",
            params,
            "TABLESAFE_JSON",
            'DATA_PREFIX="$EXPORT_PREFIX/AWSDynamoDB/$EXPORT_ID/data/"',
            "IMPORT_ARN=$(aws dynamodb import-table \\",
            '  --s3-bucket-source S3Bucket="$EXPORT_BUCKET",S3KeyPrefix="$DATA_PREFIX" \\',
            "  --input-format DYNAMODB_JSON --input-compression-type GZIP \\",
            f"  --table-creation-parameters {shell(f'file://{import_file}')} \\",
            f"  --region {shell(region)} \\",
            "  --query ImportTableDescription.ImportArn --output text)",
            f'aws dynamodb describe-import --import-arn "$IMPORT_ARN" --region {shell(region)} \\',
            "  --query 'ImportTableDescription.[ImportStatus,ImportedItemCount,ErrorCount]' --output text",
        ),
    ]
    return lines


def _reapply(bp: Mapping[str, Any]) -> list[str]:
    """What neither an import nor a restore carries, with this table's values."""
    name, region = bp["table_name"], bp["region"]
    ttl, stream, tags = bp.get("ttl"), bp.get("stream"), bp.get("tags")
    if ttl is None:
        ttl_text = "unknown (DescribeTimeToLive could not be read)"
    elif ttl.get("attribute") and ttl.get("status") in ("ENABLED", "ENABLING"):
        ttl_text = f"attribute {markdown_code(ttl['attribute'])} (`time_to_live_attribute`)"
    else:
        ttl_text = "off on the old table"
    if stream is None:
        stream_text = "unknown"
    elif stream.get("enabled"):
        stream_text = f"{markdown_code(stream.get('view_type'))}; consumers must move to the new stream ARN"
    else:
        stream_text = "off on the old table"
    tag_text = (
        "unknown" if tags is None else ", ".join(markdown_code(f"{k}={v}") for k, v in tags.items()) or "none"
    )
    replicas = [r["region"] for r in bp.get("replicas") or [] if r.get("region")]
    alarms = f"MetricAlarms[?Dimensions[?Name=='TableName' && Value=={_jmespath_string(name)}]].AlarmName"
    lines = [
        f"- TTL: {ttl_text}.",
        f"- Streams: {stream_text}.",
        "- PITR (with the recovery period) and deletion protection.",
        f"- Tags: {tag_text}.",
        "- Auto scaling (not read by the audit): "
        + markdown_code(
            "aws application-autoscaling describe-scalable-targets --service-namespace dynamodb "
            f"--resource-ids {shell(f'table/{name}')} --region {shell(region)}"
        )
        + ".",
        "- Alarms and dashboards on the table: "
        + markdown_code(f"aws cloudwatch describe-alarms --region {shell(region)} --query {shell(alarms)}")
        + ".",
        "- IAM policies and the table's resource-based policy.",
    ]
    if replicas:
        lines.append(
            f"- Replicas in {', '.join(map(markdown_code, replicas))}: add them after validation "
            "(`aws dynamodb update-table --replica-updates`), then set PITR and deletion protection in each "
            "replica region."
        )
    return lines


def _step_not_carried(bp: Mapping[str, Any]) -> list[str]:
    name, region = bp["table_name"], bp["region"]
    lines = ["## 6. What the import does not carry", ""]
    lines += [
        "An import creates a new table with keys, attribute definitions, billing, throughput, encryption",
        "and GSIs only. The CDK code of step 5 sets the rest in the same deploy; verify each afterwards,",
        "and re-apply by hand after a CLI import:",
        "",
        *_reapply(bp),
    ]
    lsis = bp.get("local_secondary_indexes")
    if not lsis:
        return lines
    restored = name + RESTORED_SUFFIX
    lsi_names = ", ".join(markdown_code(index["IndexName"]) for index in lsis)
    code = cdk_code(bp, restore=True)
    lines += [
        "",
        "### This table has local secondary indexes: restore instead of import",
        "",
        f"**An S3 import cannot recreate local secondary indexes** ({lsi_names}),",
        "and they cannot be added to a table later. A PITR restore keeps them: restore into a new table,",
        "then bring that table under CDK with `cdk import` (RemovalPolicy RETAIN is required).",
        "",
        _bash(
            f"aws dynamodb restore-table-to-point-in-time --source-table-name {shell(name)} \\",
            f"  --target-table-name {shell(restored)} --use-latest-restorable-time --region {shell(region)}",
            f"aws dynamodb wait table-exists --table-name {shell(restored)} --region {shell(region)}",
        ),
        "",
        "A restore does not copy auto scaling, IAM policies, alarms, tags, streams, TTL or PITR",
        "settings. Add the restored table to the stack exactly as it is (below), run `cdk import`, then add",
        "the remaining settings of step 5 (stream, TTL, PITR, deletion protection, tags) and `cdk deploy`.",
        "",
        *_code_blocks(code),
    ]
    return lines


def _code_blocks(code: Mapping[str, str]) -> list[str]:
    """The new table's CDK code in both languages, Python first."""
    return [
        "**CDK Python**",
        "",
        _fence("python", code["python"]),
        "",
        "**CDK TypeScript**",
        "",
        _fence("typescript", code["typescript"]),
    ]


def _step_validate(bp: Mapping[str, Any]) -> list[str]:
    region = bp["region"]
    new = bp["table_name"] + (RESTORED_SUFFIX if bp.get("local_secondary_indexes") else IMPORTED_SUFFIX)
    approx = (
        f" (DescribeTable said about {markdown_text(bp['item_count'])} at the audit)"
        if bp.get("item_count") is not None
        else ""
    )
    return [
        "## 7. Validate",
        "",
        f"The new table must hold exactly the exported items{approx}. Compare the export's",
        "count (`ItemCount` of `describe-export`, `itemCount` of `manifest-summary.json`) with a count of",
        "the new table:",
        "",
        _bash(
            f'aws dynamodb describe-export --export-arn "$EXPORT_ARN" --region {shell(region)} \\',
            "  --query ExportDescription.ItemCount",
            'aws s3 cp "s3://$EXPORT_BUCKET/$EXPORT_PREFIX/AWSDynamoDB/$EXPORT_ID/manifest-summary.json" -',
            f"aws dynamodb scan --table-name {shell(new)} --select COUNT --region {shell(region)} \\",
            "  --query Count",
        ),
        "",
        "The CLI pages through the scan and adds up `Count` (with `--no-paginate` you get one page only).",
        "A scan reads the whole table and consumes read capacity; `describe-table`'s `ItemCount` costs",
        "nothing but is updated only about every six hours. Spot-check a few items by key as well.",
    ]


def _step_switch(bp: Mapping[str, Any]) -> list[str]:
    name, region = bp["table_name"], bp["region"]
    stack = bp.get("stack")
    functions = (
        f"Functions[?contains(to_string(Environment.Variables), {_jmespath_string(name)})].FunctionName"
    )
    where = f" in stack {markdown_code(stack['name'])}" if stack else ""
    return [
        "## 8. Switch references",
        "",
        f"Point everything that names {markdown_code(name)} at the new table{where}: stack outputs and",
        "exports (`aws cloudformation list-exports`), environment variables, IAM policies (`table/NAME`,",
        "`table/NAME/index/*`, `table/NAME/stream/*`), stream consumers (event source mappings need the new",
        "stream ARN), alarms, dashboards, SSM parameters, and other accounts. Lambda functions that name it:",
        "",
        _bash(
            f"aws lambda list-functions --region {shell(region)} \\",
            f"  --query {shell(functions)}",
        ),
        "",
        "Then start the writers again, against the new table only.",
    ]


def _step_retire(bp: Mapping[str, Any]) -> list[str]:
    name, region = bp["table_name"], bp["region"]
    stack = bp.get("stack")
    if stack:
        retain = (
            stack.get("template_read") is not False and stack.get("deletion_policy") in SAFE_DELETION_POLICIES
        )
        stack_text = [
            f"The old table belongs to stack {markdown_code(stack['name'])}"
            + (f" (logical ID {markdown_code(stack['logical_id'])})" if stack.get("logical_id") else "")
            + (
                ": its DeletionPolicy is Retain, so removing the construct and deploying leaves the table"
                " in place."
                if retain
                else f": its DeletionPolicy is {_deletion_policy_text(stack)}. **Set `RemovalPolicy.RETAIN`"
                " and deploy before you remove the construct**, or the deploy deletes the table."
            ),
            "",
        ]
    else:
        stack_text = []
    replicas = [r["region"] for r in bp.get("replicas") or [] if r.get("region")]
    replica_text = (
        [
            f"Remove the replicas ({', '.join(map(markdown_code, replicas))}) with "
            "`update-table --replica-updates` first.",
            "",
        ]
        if replicas
        else []
    )
    return [
        "## 9. Retire the old table on purpose",
        "",
        "Only after the new table is validated and serves all traffic.",
        "",
        *stack_text,
        *replica_text,
        "Keep the final export in S3 (with a lifecycle rule that keeps it long enough), take an on-demand",
        "backup, which outlives the table, then delete:",
        "",
        _bash(
            f"aws dynamodb create-backup --table-name {shell(name)} --backup-name {shell(name + '-final')} "
            f"--region {shell(region)}",
            f"aws dynamodb update-table --table-name {shell(name)} --region {shell(region)} \\",
            "  --no-deletion-protection-enabled",
            f"aws dynamodb delete-table --table-name {shell(name)} --region {shell(region)}",
        ),
        "",
        "Turning deletion protection off is the deliberate step: do it only right before the delete.",
    ]


def render_runbook(blueprint: Mapping[str, Any]) -> str:
    """The Markdown runbook for one table; a partial blueprint says what it does not know."""
    sections = [
        _header(blueprint),
        _step_stop_writes(blueprint),
        _step_pitr(blueprint),
        _step_export(blueprint),
        _step_wait(blueprint),
        _step_new_table(blueprint),
        _step_not_carried(blueprint),
        _step_validate(blueprint),
        _step_switch(blueprint),
        _step_retire(blueprint),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
