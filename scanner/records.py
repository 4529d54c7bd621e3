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
DEFAULT_TABLE_TIMEOUT = 60.0
"""Seconds to read one table (all its calls, retries and replicas) before it is reported as
not read: far more than a healthy read takes, far less than a throttle storm or a stalled
endpoint would hold it (here, where the command line can import it without boto3)."""


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


def _typed(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """data[key], checked: a record read back from JSON (a fan-out part) may be cut or damaged."""
    value = data[key]
    if not isinstance(value, kind):
        raise TypeError(f"{key} is a {type(value).__name__}")
    return value


def _answer(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    return _datetimes(_typed(data, key, (dict, type(None))))


def _problems(data: Mapping[str, Any]) -> list[ReadProblem]:
    return [
        ReadProblem(_typed(problem, "api", str), _typed(problem, "message", str), problem.get("region"))
        for problem in _typed(data, "problems", list)
    ]


def record_from_json(data: Mapping[str, Any]) -> TableRecord:
    """The record that record_to_json wrote, datetimes included; raises KeyError, TypeError or
    ValueError when data is not such a record."""
    if not isinstance(data, Mapping):
        raise TypeError(f"the record is a {type(data).__name__}")
    tags = _typed(data, "tags", (list, type(None)))
    if tags is not None and not all(
        isinstance(tag, Mapping) and isinstance(tag.get("Key"), str) and isinstance(tag.get("Value"), str)
        for tag in tags
    ):
        raise TypeError("tags holds something other than Key/Value pairs")
    stack = _typed(data, "stack", (dict, type(None)))
    return TableRecord(
        account=_typed(data, "account", str),
        region=_typed(data, "region", str),
        name=_typed(data, "name", str),
        arn=_typed(data, "arn", (str, type(None))),
        describe=_answer(data, "describe"),
        continuous_backups=_answer(data, "continuous_backups"),
        time_to_live=_answer(data, "time_to_live"),
        tags=tags,
        stack=OwningStack(**stack) if stack else None,
        stack_known=bool(_typed(data, "stack_known", bool)),
        replicas=[
            ReplicaRecord(
                region=_typed(replica, "region", str),
                describe=_answer(replica, "describe"),
                continuous_backups=_answer(replica, "continuous_backups"),
                problems=_problems(replica),
            )
            for replica in _typed(data, "replicas", list)
        ],
        problems=_problems(data),
    )
