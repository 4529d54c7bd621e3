"""Read one deployed table, read-only, into a TableRecord.

At most four DynamoDB calls per table (DescribeTable, DescribeContinuousBackups,
DescribeTimeToLive, ListTagsOfResource), DescribeStackResources only when the tags do not
name the owning stack, one GetTemplate per owning stack (shared by its tables), and
DescribeTable + DescribeContinuousBackups in each other replica region of a global table.
A call that fails becomes a ReadProblem on the record; the other calls still run. "Fails"
means anything: an AWS error, an answer that cannot be parsed or lacks what the call returns
(each answer's shape is checked where it is used), a replica region that is not a region
name, the table's deadline. Whatever an endpoint answers, read() returns a record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from tablesafe.scanner.aws import (
    REGION_NAME,
    Account,
    Clients,
    MalformedAnswer,
    answer_field,
    deadline,
    error_code,
    error_text,
    one_line,
    pages,
)
from tablesafe.scanner.records import (
    DEFAULT_TABLE_TIMEOUT,
    OwningStack,
    ReadProblem,
    ReplicaRecord,
    TableRecord,
)

T = TypeVar("T")

STACK_NAME_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
TABLE_RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
CDK_PATH = "aws:cdk:path"
NOT_FOUND = "ResourceNotFoundException"
MAX_TAG_PAGES = 100
"""ListTagsOfResource pages: a table holds at most 50 tags."""
OUT_OF_TIME = "not read: stopped before the run's time ran out"


class _Template:
    """A stack's parsed template, or why it could not be read."""

    def __init__(self, resources: Mapping[str, Any] | None, problem: str | None) -> None:
        self.resources = resources
        self.problem = problem


class StackTemplates:
    """GetTemplate once per (account, region, stack), however many threads ask at once."""

    def __init__(self) -> None:
        self.futures: dict[tuple[str, str, str], Future[_Template]] = {}
        self.lock = threading.Lock()

    def get(self, clients: Clients, account: Account, region: str, stack: str) -> _Template:
        key = (account.id, region, stack)
        with self.lock:
            future = self.futures.get(key)
            owner = future is None
            if owner:
                future = self.futures[key] = Future()
        assert future is not None
        if owner:
            future.set_result(_read_template(clients, account, region, stack))
        return future.result()


def _read_template(clients: Clients, account: Account, region: str, stack: str) -> _Template:
    from tablesafe.loader import parse_document

    try:
        answer = clients.get(account, region, "cloudformation").get_template(StackName=stack)
        body = answer.get("TemplateBody") if isinstance(answer, Mapping) else None
        if not isinstance(body, str | Mapping):
            raise MalformedAnswer("malformed answer: no TemplateBody")
        # botocore decodes a JSON template into a dict; a YAML one arrives as a string.
        document = parse_document(body, Path(f"{stack}.template")) if isinstance(body, str) else body
    except Exception as error:  # whatever the answer, only this stack's template is unknown
        return _Template(None, error_text(error))
    resources = document.get("Resources") if isinstance(document, Mapping) else None
    if not isinstance(resources, Mapping):
        return _Template(None, "the template has no Resources")
    return _Template(resources, None)


class TableReader:
    """Reads tables for one audit run; shares the clients and the template cache.

    Each table has table_timeout seconds, and no table's calls go on past stop_at (a
    time.monotonic() value, e.g. before a Lambda's time runs out)."""

    def __init__(
        self, clients: Clients, *, table_timeout: float = DEFAULT_TABLE_TIMEOUT, stop_at: float | None = None
    ) -> None:
        self.clients = clients
        self.templates = StackTemplates()
        self.table_timeout = table_timeout
        self.stop_at = stop_at

    def read(self, account: Account, region: str, name: str) -> TableRecord:
        """The table's record; whatever happens, a record, with what could not be read in problems."""
        record = TableRecord(account=account.id, region=region, name=name)
        now = time.monotonic()
        if self.stop_at is not None and now >= self.stop_at:
            record.problems.append(ReadProblem("DescribeTable", OUT_OF_TIME, region))
            return record
        limit, reason = (
            now + self.table_timeout,
            f"not read within the table time limit ({self.table_timeout:g} s)",
        )
        if self.stop_at is not None and self.stop_at < limit:
            limit, reason = self.stop_at, OUT_OF_TIME
        with deadline(limit, reason):
            try:
                self._read(account, record)
            except Exception as error:  # a bug's last line of defence: the table is still reported
                record.problems.append(ReadProblem("TableReader", error_text(error), region))
        return record

    def _read(self, account: Account, record: TableRecord) -> None:
        region, name = record.region, record.name
        partition = account.session.get_partition_for_region(region)
        record.arn = f"arn:{partition}:dynamodb:{region}:{account.id}:table/{name}"
        problems = record.problems
        dynamodb = self.clients.get(account, region, "dynamodb")
        record.describe = _attempt("DescribeTable", region, problems, lambda: _describe_table(dynamodb, name))
        if record.describe is None and problems[-1].message.startswith(NOT_FOUND):
            return  # deleted since ListTables: nothing more to read
        arn = (record.describe or {}).get("TableArn")
        record.arn = arn if isinstance(arn, str) else record.arn
        record.continuous_backups = _attempt(
            "DescribeContinuousBackups", region, problems, lambda: _continuous_backups(dynamodb, name)
        )
        record.time_to_live = _attempt(
            "DescribeTimeToLive",
            region,
            problems,
            lambda: answer_field(
                dynamodb.describe_time_to_live(TableName=name), "TimeToLiveDescription", dict
            ),
        )
        record.tags = _attempt(
            "ListTagsOfResource", region, problems, lambda: _all_tags(dynamodb, str(record.arn))
        )
        _attempt("DescribeStackResources", region, problems, lambda: self._owning_stack(account, record))
        record.replicas = [self._replica(account, other, name) for other in _replica_regions(record)]

    def _owning_stack(self, account: Account, record: TableRecord) -> None:
        tags = {tag["Key"]: tag["Value"] for tag in record.tags or ()}
        found_by = "tags"
        stack_name, logical_id = tags.get(STACK_NAME_TAG), tags.get(LOGICAL_ID_TAG)
        if not stack_name:
            found_by = "DescribeStackResources"
            cloudformation = self.clients.get(account, record.region, "cloudformation")
            try:
                answer = cloudformation.describe_stack_resources(PhysicalResourceId=record.name)
            except Exception as error:  # whatever the answer, only the owning stack is unknown
                if error_code(error) == "ValidationError" and "does not exist" in str(error):
                    record.stack_known = True  # CloudFormation: no stack has this resource
                else:
                    record.problems.append(
                        ReadProblem("DescribeStackResources", error_text(error), record.region)
                    )
                return
            resource = next(
                (
                    r
                    for r in answer_field(answer, "StackResources", list)
                    if isinstance(r, Mapping)
                    and r.get("PhysicalResourceId") == record.name
                    and r.get("ResourceType") in TABLE_RESOURCE_TYPES
                ),
                None,
            )
            if resource is None:
                record.stack_known = True
                return
            stack_name, logical_id = (
                answer_field(resource, "StackName", str),
                _text(resource.get("LogicalResourceId")),
            )
        record.stack_known = True
        template = self.templates.get(self.clients, account, record.region, stack_name)
        resource = (template.resources or {}).get(logical_id) if logical_id else None
        if template.problem:
            record.problems.append(
                ReadProblem("GetTemplate", f"{stack_name}: {template.problem}", record.region)
            )
        elif not isinstance(resource, Mapping):
            record.problems.append(
                ReadProblem(
                    "GetTemplate", f"{stack_name}: no resource {logical_id} in the template", record.region
                )
            )
            resource = None
        resource = resource or {}
        metadata = resource.get("Metadata") if isinstance(resource.get("Metadata"), Mapping) else {}
        record.stack = OwningStack(
            name=stack_name,
            logical_id=logical_id,
            deletion_policy=_text(resource.get("DeletionPolicy")),
            update_replace_policy=_text(resource.get("UpdateReplacePolicy")),
            construct_path=_text(metadata.get(CDK_PATH)),
            found_by=found_by,
            resource_type=_text(resource.get("Type")),
            template_read=bool(resource),
        )

    def _replica(self, account: Account, region: str, name: str) -> ReplicaRecord:
        replica = ReplicaRecord(region=region)
        problems = replica.problems
        dynamodb = self.clients.get(account, region, "dynamodb")
        replica.describe = _attempt(
            "DescribeTable", region, problems, lambda: _describe_table(dynamodb, name)
        )
        replica.continuous_backups = _attempt(
            "DescribeContinuousBackups", region, problems, lambda: _continuous_backups(dynamodb, name)
        )
        return replica


def _attempt(api: str, region: str, problems: list[ReadProblem], call: Callable[[], T]) -> T | None:
    """The call's answer, or None with the failure, whatever it is, added to problems."""
    try:
        return call()
    except Exception as error:  # containment: one call's failure is that call's read problem
        problems.append(ReadProblem(api, error_text(error), region))
        return None


def _describe_table(dynamodb: Any, name: str) -> dict[str, Any]:
    table = answer_field(dynamodb.describe_table(TableName=name), "Table", dict)
    _check_type(table, "DeletionProtectionEnabled", bool)
    return table


def _continuous_backups(dynamodb: Any, name: str) -> dict[str, Any]:
    answer = dynamodb.describe_continuous_backups(TableName=name)
    backups = answer_field(answer, "ContinuousBackupsDescription", dict)
    _check_type(backups.get("PointInTimeRecoveryDescription") or {}, "RecoveryPeriodInDays", int)
    return backups


def _check_type(answer: Mapping[str, Any], key: str, kind: type) -> None:
    """botocore checks the structure of an answer, not its scalars: a judged one must have its type."""
    value = answer.get(key)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise MalformedAnswer(f"malformed answer: {key} is not a {'boolean' if kind is bool else 'number'}")


def _all_tags(dynamodb: Any, arn: str) -> list[dict[str, str]]:
    """ListTagsOfResource has no paginator in botocore: follow NextToken by hand, bounded."""
    tags: list[dict[str, str]] = []
    for page in pages(
        dynamodb.list_tags_of_resource,
        token_in="NextToken",
        token_out="NextToken",
        max_pages=MAX_TAG_PAGES,
        ResourceArn=arn,
    ):
        for tag in answer_field(page, "Tags", list):
            tags.append({"Key": answer_field(tag, "Key", str), "Value": answer_field(tag, "Value", str)})
    return tags


def _replica_regions(record: TableRecord) -> list[str]:
    """Regions of the other replicas of a global table (version 2019.11.21). A region name
    that is not one is a read problem of the table: no client is made for it."""
    replicas = (record.describe or {}).get("Replicas") or []
    regions = []
    for replica in replicas if isinstance(replicas, list) else [replicas]:
        region = replica.get("RegionName") if isinstance(replica, Mapping) else None
        if isinstance(region, str) and REGION_NAME.match(region):
            if region != record.region:
                regions.append(region)
        else:
            record.problems.append(
                ReadProblem(
                    "DescribeTable",
                    f"malformed answer: replica region {one_line(repr(region), 80)} is not a region name",
                    record.region,
                )
            )
    return list(dict.fromkeys(regions))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
