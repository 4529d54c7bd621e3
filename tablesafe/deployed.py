"""`--baseline deployed`: the templates CloudFormation holds for the stacks of the assembly.

Each stack is fetched with GetTemplate in the region (and checked against the account) the
manifest names; a nested stack is found through its parent's AWS::CloudFormation::Stack
resource (DescribeStackResource), named by its construct path in the assembly metadata. A
stack that does not exist yet simply has no baseline.
boto3 is imported here only, so `tablesafe check` without it stays lean.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tablesafe.extras import AWS_CLIENT, missing_extra
from tablesafe.loader import TemplateSource, assembly_sources, describe_template
from tablesafe.model import InputError, LoadResult, TableDescription


def _nested_stack_logical_id(parent: TemplateSource, nested: TemplateSource) -> str | None:
    """The logical ID of the parent's AWS::CloudFormation::Stack resource that deploys the
    nested stack: CDK names its construct `<id>.NestedStack/<id>.NestedStackResource`."""
    below = (nested.stack or "")[len(parent.stack or "") + 1 :]
    suffix = f"/{below}.NestedStack/{below.rsplit('/', 1)[-1]}.NestedStackResource"
    return next((lid for lid, path in parent.construct_paths.items() if path.endswith(suffix)), None)


class _Fetcher:
    """GetTemplate per stack with one client per region and one account check."""

    def __init__(self) -> None:
        import boto3

        self._session = boto3.session.Session()
        self._clients: dict[str | None, Any] = {}
        self._account: str | None = None

    def client(self, region: str | None) -> Any:
        if region not in self._clients:
            self._clients[region] = self._session.client("cloudformation", region_name=region)
        return self._clients[region]

    def account(self, region: str | None) -> str:
        if self._account is None:
            sts = self._session.client("sts", region_name=region)
            self._account = sts.get_caller_identity()["Account"]
        return self._account

    def template(self, stack: str, region: str | None) -> str | None:
        """The deployed template's text; None when the stack does not exist."""
        from botocore.exceptions import ClientError

        try:
            body = self.client(region).get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        # boto3 decodes a JSON template; a YAML one comes back as text
        return json.dumps(body, indent=1) if isinstance(body, Mapping) else str(body)

    def nested_stack_id(self, parent: str, logical_id: str, region: str | None) -> str | None:
        from botocore.exceptions import ClientError

        try:
            detail = self.client(region).describe_stack_resource(
                StackName=parent, LogicalResourceId=logical_id
            )
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return detail["StackResourceDetail"].get("PhysicalResourceId") or None


def _fetch_one(
    fetcher: _Fetcher,
    source: TemplateSource,
    deployed: dict[str, tuple[TemplateSource, str]],
    result: LoadResult,
) -> None:
    account, region = source.account_region
    stack = source.stack or ""
    if account and account != fetcher.account(region):
        raise _Refused(
            f"the assembly deploys it to account {account}, but the credentials are for account "
            f"{fetcher.account(region)}"
        )
    stack_id: str | None = stack
    if source.nested:
        parents = [name for name in deployed if stack.startswith(name + "/")]
        parent = deployed[max(parents, key=len)] if parents else None
        logical_id = _nested_stack_logical_id(parent[0], source) if parent else None
        stack_id = fetcher.nested_stack_id(parent[1], logical_id, region) if parent and logical_id else None
    fetched = fetcher.template(stack_id, region) if stack_id else None
    if stack_id is None or fetched is None:
        return  # not deployed yet: no baseline for this stack
    deployed[stack] = (source, stack_id)
    shown = TemplateSource(source.path, f"deployed:{stack}", source.stack, source.construct_paths)
    describe_template(shown, result, fetched)


class _Refused(Exception):
    """This stack's deployed template must not be used as its baseline."""


def _fetch(fetcher: _Fetcher, sources: Iterable[TemplateSource], result: LoadResult) -> None:
    """Parents before their nested stacks; a failure costs only its own stack."""
    from botocore.exceptions import BotoCoreError, ClientError

    deployed: dict[str, tuple[TemplateSource, str]] = {}
    """Stack display name -> its source and its name or ARN for the API, once fetched."""
    for source in sorted(sources, key=lambda s: (s.stack or "").count("/")):
        try:
            _fetch_one(fetcher, source, deployed, result)
        except (BotoCoreError, ClientError, _Refused) as error:
            result.errors.append(InputError(f"deployed:{source.stack}", f"baseline: {error}"))


def load_deployed(paths: Iterable[str]) -> tuple[list[TableDescription], list[InputError]]:
    """The deployed tables of every stack in the assemblies of paths, and what went wrong."""
    result = LoadResult(identity_only=True)
    sources: list[TemplateSource] = []
    for shown in paths:
        directory = Path(shown)
        if not (directory / "manifest.json").is_file():
            result.errors.append(
                InputError(shown, "--baseline deployed needs a cloud assembly (cdk.out) to name the stacks")
            )
            continue
        sources.extend(assembly_sources(directory, shown, result))
    if not sources:
        return result.tables, result.errors
    if problem := missing_extra("aws", AWS_CLIENT):
        return [], [InputError("--baseline deployed", problem)]
    _fetch(_Fetcher(), sources, result)
    return result.tables, result.errors
