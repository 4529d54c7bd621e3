"""The blueprint of one deployed table: everything needed to build it again, as plain JSON.

A blueprint is written next to every audited table so that the table can be recreated
even when the account can no longer be read (the table deleted, access lost). It is made
from the raw API answers of a TableRecord and keeps the API's own shapes where they can be
pasted back into an API call (KeySchema, Projection, AttributeDefinitions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .records import TableRecord, json_value

BLUEPRINT_VERSION = 1

AWS_TAG_PREFIX = "aws:"
"""Tags with this prefix are set by AWS services and cannot be set by anyone else."""

COUNTS_NOTE = "DescribeTable ItemCount and TableSizeBytes: approximate, updated about every six hours"


def _throughput(raw: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Only the capacity units can be set; the rest of ProvisionedThroughput is history."""
    if not raw:
        return None
    return {key: raw[key] for key in ("ReadCapacityUnits", "WriteCapacityUnits") if key in raw}


def _index(raw: Mapping[str, Any], *, provisioned: bool) -> dict[str, Any]:
    index: dict[str, Any] = {
        "IndexName": raw.get("IndexName"),
        "KeySchema": raw.get("KeySchema", []),
        "Projection": raw.get("Projection", {"ProjectionType": "ALL"}),
    }
    if provisioned and raw.get("ProvisionedThroughput"):
        index["ProvisionedThroughput"] = _throughput(raw["ProvisionedThroughput"])
    if raw.get("OnDemandThroughput"):
        index["OnDemandThroughput"] = raw["OnDemandThroughput"]
    if "IndexStatus" in raw:
        index["IndexStatus"] = raw["IndexStatus"]
    return index


def _billing(describe: Mapping[str, Any]) -> dict[str, Any]:
    """Tables created before on-demand existed have no BillingModeSummary: they are PROVISIONED."""
    mode = describe.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    billing: dict[str, Any] = {"mode": mode}
    if mode == "PROVISIONED":
        billing["provisioned_throughput"] = _throughput(describe.get("ProvisionedThroughput"))
    billing["on_demand_throughput"] = describe.get("OnDemandThroughput")
    return billing


def _sse(describe: Mapping[str, Any]) -> dict[str, Any]:
    """No SSEDescription means the default: an AWS owned key."""
    sse = describe.get("SSEDescription")
    if not sse:
        return {"status": "DEFAULT", "type": None, "kms_key_arn": None}
    return {
        "status": sse.get("Status"),
        "type": sse.get("SSEType"),
        "kms_key_arn": sse.get("KMSMasterKeyArn"),
    }


def _stream(describe: Mapping[str, Any]) -> dict[str, Any]:
    spec = describe.get("StreamSpecification") or {}
    return {
        "enabled": bool(spec.get("StreamEnabled")),
        "view_type": spec.get("StreamViewType"),
        "latest_stream_arn": describe.get("LatestStreamArn"),
    }


def _pitr(backups: Mapping[str, Any] | None) -> dict[str, Any]:
    description = (backups or {}).get("PointInTimeRecoveryDescription", {})
    return {
        "status": description.get("PointInTimeRecoveryStatus"),
        "recovery_period_days": description.get("RecoveryPeriodInDays"),
        "earliest_restorable": json_value(description.get("EarliestRestorableDateTime")),
        "latest_restorable": json_value(description.get("LatestRestorableDateTime")),
    }


def _replica(raw: Mapping[str, Any], record: TableRecord) -> dict[str, Any]:
    """A replica from DescribeTable's Replicas, with what was read in its own region."""
    region = raw.get("RegionName")
    read = next((replica for replica in record.replicas if replica.region == region), None)
    describe = read.describe if read else None
    return {
        "region": region,
        "status": raw.get("ReplicaStatus"),
        "kms_key_arn": raw.get("KMSMasterKeyId"),
        "table_class": raw.get("ReplicaTableClassSummary", {}).get("TableClass"),
        "deletion_protection": describe.get("DeletionProtectionEnabled", False) if describe else None,
        "pitr": _pitr(read.continuous_backups) if read and read.continuous_backups is not None else None,
    }


def _tags(tags: list[dict[str, str]] | None) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """(settable tags, aws:* tags), both None when ListTagsOfResource did not answer."""
    if tags is None:
        return None, None
    pairs = {tag["Key"]: tag["Value"] for tag in tags}
    own = {key: value for key, value in pairs.items() if not key.startswith(AWS_TAG_PREFIX)}
    aws = {key: value for key, value in pairs.items() if key.startswith(AWS_TAG_PREFIX)}
    return own, aws


def _unreadable(record: TableRecord) -> list[dict[str, Any]]:
    problems = [*record.problems, *(p for replica in record.replicas for p in replica.problems)]
    return [{"api": p.api, "region": p.region or record.region, "message": p.message} for p in problems]


def blueprint(record: TableRecord) -> dict[str, Any]:
    """The JSON-serializable recreation record of one table; a part that could not be read is
    None (or empty) and its API is listed under ``unreadable``."""
    describe = record.describe or {}
    known = record.describe is not None
    billing = _billing(describe) if known else None
    provisioned = billing is not None and billing["mode"] == "PROVISIONED"
    ttl = record.time_to_live
    tags, aws_tags = _tags(record.tags)
    result: dict[str, Any] = {
        "blueprint_version": BLUEPRINT_VERSION,
        "account": record.account,
        "region": record.region,
        "table_name": record.name,
        "table_arn": record.arn or describe.get("TableArn"),
        "table_id": describe.get("TableId"),
        "status": record.status,
        "created": json_value(describe.get("CreationDateTime")),
        "key_schema": describe.get("KeySchema") if known else None,
        "attribute_definitions": describe.get("AttributeDefinitions") if known else None,
        "global_secondary_indexes": [
            _index(gsi, provisioned=provisioned) for gsi in describe.get("GlobalSecondaryIndexes", [])
        ]
        if known
        else None,
        "local_secondary_indexes": [
            _index(lsi, provisioned=False) for lsi in describe.get("LocalSecondaryIndexes", [])
        ]
        if known
        else None,
        "billing": billing,
        "sse": _sse(describe) if known else None,
        "stream": _stream(describe) if known else None,
        "table_class": describe.get("TableClassSummary", {}).get("TableClass", "STANDARD") if known else None,
        "deletion_protection": describe.get("DeletionProtectionEnabled", False) if known else None,
        "ttl": {"status": ttl.get("TimeToLiveStatus"), "attribute": ttl.get("AttributeName")}
        if ttl is not None
        else None,
        "tags": tags,
        "aws_tags": aws_tags,
        "pitr": _pitr(record.continuous_backups) if record.continuous_backups is not None else None,
        "replicas": [_replica(replica, record) for replica in describe.get("Replicas", [])]
        if known
        else None,
        "item_count": describe.get("ItemCount"),
        "size_bytes": describe.get("TableSizeBytes"),
        "counts_note": COUNTS_NOTE,
        "stack": asdict(record.stack) if record.stack else None,
        "stack_known": record.stack_known,
        "unreadable": _unreadable(record),
    }
    return json_value(result)


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_PLAIN_NAME = re.compile(r"^[a-z0-9_-][a-z0-9_.-]{2,127}\Z")
"""A table name used as its file name as it is: lower case (two names never meet on a
case-insensitive file system), not starting with a dot, short enough for any file system."""
_DEVICE_NAME = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\.|\Z)")
"""Names Windows reserves whatever the extension: a run copied there must not lose a file."""
STEM_PREFIX = 100
DIGEST_MARK = "~"
"""Separates a name's readable prefix from its digest; no table name contains it, so a
digested file name never equals a plain one."""


def path_part(name: str) -> str:
    """An account or region as one safe path component (both are checked where they are read;
    this keeps a path inside the run whatever they are)."""
    cleaned = _UNSAFE.sub("_", name)
    return cleaned if cleaned.strip(".") else cleaned.replace(".", "_") or "_"


def table_file_stem(name: str) -> str:
    """The file name (without extension) of a table's blueprint and runbook: the name itself
    when it is plain (see _PLAIN_NAME), else a readable prefix plus a digest of the exact name.
    Unique for every pair of table names, case-insensitively; at most 117 characters; never
    hidden, never '.' or '..'."""
    if _PLAIN_NAME.match(name) and not _DEVICE_NAME.match(name):
        return name
    readable = _UNSAFE.sub("_", name[:STEM_PREFIX])
    readable = "_" * (len(readable) - len(readable.lstrip("."))) + readable.lstrip(".")
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{readable}{DIGEST_MARK}{digest}"


def blueprint_path(root: Path, record_or_blueprint: TableRecord | Mapping[str, Any]) -> Path:
    """``root/tables/<account>/<region>/<table file stem>.json`` for a record or a blueprint;
    the runbook is the same path with ``.md`` (runbook_path)."""
    if isinstance(record_or_blueprint, TableRecord):
        account, region, name = (
            record_or_blueprint.account,
            record_or_blueprint.region,
            record_or_blueprint.name,
        )
    else:
        account, region, name = (record_or_blueprint[key] for key in ("account", "region", "table_name"))
    return root / "tables" / path_part(account) / path_part(region) / f"{table_file_stem(name)}.json"


def runbook_path(root: Path, record_or_blueprint: TableRecord | Mapping[str, Any]) -> Path:
    """The runbook beside the blueprint: ``.md`` instead of ``.json``."""
    return blueprint_path(root, record_or_blueprint).with_suffix(".md")


JUST_ENABLED = dt.timedelta(hours=1)
"""A restorable window shorter than this is PITR enabled moments ago: "enabled just now",
not a window from a time to the same time with an empty bar."""
DEFAULT_RECOVERY_PERIOD_DAYS = 35


def _instant(value: Any) -> dt.datetime | None:
    """A blueprint timestamp (ISO text) in UTC, a naive one read as UTC; None when it is not one."""
    try:
        instant = dt.datetime.fromisoformat(str(value))
        return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def pitr_view(pitr: Mapping[str, Any] | None) -> dict[str, Any]:
    """Status, restorable window and bar width (how much of the recovery period is restorable);
    a window of less than JUST_ENABLED is "enabled just now"."""
    if pitr is None:
        return {"status": None}
    status = pitr.get("status") or "unknown"
    period = pitr.get("recovery_period_days") or DEFAULT_RECOVERY_PERIOD_DAYS
    view: dict[str, Any] = {"status": status, "period": period, "just_enabled": False, "days": None}
    earliest, latest = _instant(pitr.get("earliest_restorable")), _instant(pitr.get("latest_restorable"))
    if status != "ENABLED" or earliest is None or latest is None or latest < earliest:
        return view
    if latest - earliest < JUST_ENABLED:
        return {**view, "just_enabled": True}
    days = (latest - earliest).total_seconds() / 86400
    try:
        width = max(0.0, min(100.0, 100 * days / float(period)))
    except (TypeError, ValueError, ZeroDivisionError):
        return view
    return {
        **view,
        "days": days,
        "width": width,
        "earliest": earliest.strftime("%Y-%m-%d %H:%M"),
        "latest": latest.strftime("%Y-%m-%d %H:%M"),
    }
