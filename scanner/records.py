"""What the audit read about one deployed table, exactly as the AWS APIs returned it.

Collection fills these; everything downstream (rule descriptions, blueprints, runbooks,
reports, the difference between runs) is computed from them, so a record is also the
unit the audit writes to disk and reads back for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
