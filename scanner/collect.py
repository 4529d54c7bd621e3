"""Read one deployed table, read-only, into a TableRecord.

At most four DynamoDB calls per table (DescribeTable, DescribeContinuousBackups,
DescribeTimeToLive, ListTagsOfResource), DescribeStackResources only when the tags do not
name the owning stack, one GetTemplate per owning stack (shared by its tables), and
DescribeTable + DescribeContinuousBackups in each other replica region of a global table.
A call that fails becomes a ReadProblem on the record; the other calls still run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from tablesafe.scanner.aws import AWS_ERRORS, Account, Clients, error_code, error_text
from tablesafe.scanner.records import OwningStack, ReadProblem, ReplicaRecord, TableRecord

T = TypeVar("T")

STACK_NAME_TAG = "aws:cloudformation:stack-name"
LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
TABLE_RESOURCE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
CDK_PATH = "aws:cdk:path"
NOT_FOUND = "ResourceNotFoundException"


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
    from tablesafe.loader import InputProblem, parse_document

    try:
        body = clients.get(account, region, "cloudformation").get_template(StackName=stack)["TemplateBody"]
    except AWS_ERRORS as error:
        return _Template(None, error_text(error))
    try:
        # botocore decodes a JSON template into a dict; a YAML one arrives as a string.
        document = parse_document(body, Path(f"{stack}.template")) if isinstance(body, str) else body
    except InputProblem as problem:
        return _Template(None, str(problem))
    resources = document.get("Resources") if isinstance(document, Mapping) else None
    if not isinstance(resources, Mapping):
        return _Template(None, "the template has no Resources")
    return _Template(resources, None)


class TableReader:
    """Reads tables for one audit run; shares the clients and the template cache."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.templates = StackTemplates()

    def read(self, account: Account, region: str, name: str) -> TableRecord:
        partition = account.session.get_partition_for_region(region)
        arn = f"arn:{partition}:dynamodb:{region}:{account.id}:table/{name}"
        record = TableRecord(account=account.id, region=region, name=name, arn=arn)
        dynamodb = self.clients.get(account, region, "dynamodb")
        problems = record.problems
        record.describe = _attempt(
            "DescribeTable", region, problems, lambda: dynamodb.describe_table(TableName=name)["Table"]
        )
        if record.describe is None and problems[-1].message.startswith(NOT_FOUND):
            return record  # deleted since ListTables: nothing more to read
        record.arn = (record.describe or {}).get("TableArn", arn)
        record.continuous_backups = _attempt(
            "DescribeContinuousBackups",
            region,
            problems,
            lambda: dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"],
        )
        record.time_to_live = _attempt(
            "DescribeTimeToLive",
            region,
            problems,
            lambda: dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
        )
        record.tags = _attempt(
            "ListTagsOfResource", region, problems, lambda: _all_tags(dynamodb, str(record.arn))
        )
        self._owning_stack(account, record)
        record.replicas = [self._replica(account, other, name) for other in _replica_regions(record)]
        return record

    def _owning_stack(self, account: Account, record: TableRecord) -> None:
        tags = {tag["Key"]: tag["Value"] for tag in record.tags or ()}
        found_by = "tags"
        stack_name, logical_id = tags.get(STACK_NAME_TAG), tags.get(LOGICAL_ID_TAG)
        if not stack_name:
            found_by = "DescribeStackResources"
            cloudformation = self.clients.get(account, record.region, "cloudformation")
            try:
                answer = cloudformation.describe_stack_resources(PhysicalResourceId=record.name)
            except AWS_ERRORS as error:
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
                    for r in answer.get("StackResources", [])
                    if r.get("PhysicalResourceId") == record.name
                    and r.get("ResourceType") in TABLE_RESOURCE_TYPES
                ),
                None,
            )
            record.stack_known = True
            if resource is None:
                return
            stack_name, logical_id = resource["StackName"], resource["LogicalResourceId"]
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
        dynamodb = self.clients.get(account, region, "dynamodb")
        replica.describe = _attempt(
            "DescribeTable",
            region,
            replica.problems,
            lambda: dynamodb.describe_table(TableName=name)["Table"],
        )
        replica.continuous_backups = _attempt(
            "DescribeContinuousBackups",
            region,
            replica.problems,
            lambda: dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"],
        )
        return replica


def _attempt(api: str, region: str, problems: list[ReadProblem], call: Callable[[], T]) -> T | None:
    """The call's answer, or None with the failure added to problems."""
    try:
        return call()
    except AWS_ERRORS as error:
        problems.append(ReadProblem(api, error_text(error), region))
        return None


def _all_tags(dynamodb: Any, arn: str) -> list[dict[str, str]]:
    """ListTagsOfResource has no paginator in botocore: follow NextToken by hand."""
    tags: list[dict[str, str]] = []
    kwargs: dict[str, str] = {"ResourceArn": arn}
    while True:
        page = dynamodb.list_tags_of_resource(**kwargs)
        tags.extend(page.get("Tags", []))
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def _replica_regions(record: TableRecord) -> list[str]:
    """Regions of the other replicas of a global table (version 2019.11.21)."""
    replicas = (record.describe or {}).get("Replicas") or []
    return [r["RegionName"] for r in replicas if r.get("RegionName") and r["RegionName"] != record.region]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
