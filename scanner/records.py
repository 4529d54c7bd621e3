"""What the audit read about one deployed table, exactly as the AWS APIs returned it.

Collection fills these; everything downstream (rule descriptions, blueprints, runbooks,
reports, the difference between runs) is computed from them, so a record is also the
unit the audit writes to disk and reads back for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DATETIME_SUFFIX = "DateTime"
"""Every timestamp of the DynamoDB answers a record keeps is named so (CreationDateTime,
EarliestRestorableDateTime, LastIncreaseDateTime, ...): how a JSON record gets them back."""


@dataclass(slots=True)
class ReadProblem:
    """One API call that did not answer; the audit goes on without it."""

    api: str
    """The operation, e.g. "DescribeContinuousBackups"."""
    message: str
    """The error code and message, e.g. "AccessDeniedException: not authorized"."""
    region: str | None = None


@dataclass(slots=True)
class OwningStack:
    """The CloudFormation stack that manages the table, when one does."""

    name: str
    logical_id: str | None
    deletion_policy: str | None
    """None when the template has no DeletionPolicy, which CloudFormation treats as Delete."""
    update_replace_policy: str | None
    construct_path: str | None
    """From the template's aws:cdk:path Metadata (CDK CLI synth), when present."""
    found_by: str
    """"tags" (aws:cloudformation:* tags) or "DescribeStackResources"."""
    resource_type: str | None = None
    """The template's Type for the table (AWS::DynamoDB::Table or AWS::DynamoDB::GlobalTable)."""
    template_read: bool = True
    """False when GetTemplate failed or lacks the resource: the policies are then unknown."""


@dataclass(slots=True)
class ReplicaRecord:
    """A global-table replica read in its own region."""

    region: str
    describe: dict[str, Any] | None = None
    """DescribeTable()["Table"] in the replica's region."""
    continuous_backups: dict[str, Any] | None = None
    """DescribeContinuousBackups()["ContinuousBackupsDescription"] in the replica's region."""
    problems: list[ReadProblem] = field(default_factory=list)


@dataclass(slots=True)
class TableRecord:
    account: str
    region: str
    name: str
    arn: str | None = None
    describe: dict[str, Any] | None = None
    """DescribeTable()["Table"]; None when it could not be read."""
    continuous_backups: dict[str, Any] | None = None
    """DescribeContinuousBackups()["ContinuousBackupsDescription"]."""
    time_to_live: dict[str, Any] | None = None
    """DescribeTimeToLive()["TimeToLiveDescription"]."""
    tags: list[dict[str, str]] | None = None
    """ListTagsOfResource()["Tags"] (all pages)."""
    stack: OwningStack | None = None
    stack_known: bool = False
    """True when the owning-stack lookup answered: stack None then means unmanaged."""
    replicas: list[ReplicaRecord] = field(default_factory=list)
    """Replicas other than this region's table, each read in its own region."""
    problems: list[ReadProblem] = field(default_factory=list)

    @property
    def status(self) -> str:
        """TableStatus (ACTIVE, CREATING, UPDATING, ARCHIVED, INACCESSIBLE_ENCRYPTION_CREDENTIALS,
        ...), or "UNREADABLE" when DescribeTable did not answer."""
        if self.describe is None:
            return "UNREADABLE"
        return str(self.describe.get("TableStatus", "UNKNOWN"))


def json_value(value: Any) -> Any:
    """boto3 answers carry datetimes (and, read back from JSON, ISO strings): make them JSON."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def _datetimes(value: Any) -> Any:
    """The inverse of json_value on an API answer: ISO strings under *DateTime keys become datetimes."""
    if isinstance(value, Mapping):
        return {
            key: dt.datetime.fromisoformat(item)
            if key.endswith(DATETIME_SUFFIX) and isinstance(item, str)
            else _datetimes(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_datetimes(item) for item in value]
    return value


def record_to_json(record: TableRecord) -> dict[str, Any]:
    """The record as JSON data, so that another process (a fan-out part) can judge it."""
    return json_value(asdict(record))


def _problems(data: list[dict[str, Any]]) -> list[ReadProblem]:
    return [ReadProblem(**problem) for problem in data]


def record_from_json(data: Mapping[str, Any]) -> TableRecord:
    """The record that record_to_json wrote, datetimes included."""
    return TableRecord(
        account=data["account"],
        region=data["region"],
        name=data["name"],
        arn=data["arn"],
        describe=_datetimes(data["describe"]),
        continuous_backups=_datetimes(data["continuous_backups"]),
        time_to_live=_datetimes(data["time_to_live"]),
        tags=data["tags"],
        stack=OwningStack(**data["stack"]) if data["stack"] else None,
        stack_known=data["stack_known"],
        replicas=[
            ReplicaRecord(
                region=replica["region"],
                describe=_datetimes(replica["describe"]),
                continuous_backups=_datetimes(replica["continuous_backups"]),
                problems=_problems(replica["problems"]),
            )
            for replica in data["replicas"]
        ],
        problems=_problems(data["problems"]),
    )
