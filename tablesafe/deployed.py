"""`--baseline deployed`: the templates CloudFormation holds for the stacks of the assembly.

Each stack is fetched with GetTemplate in the region (and checked against the account) the
manifest names; a nested stack is found through its parent's AWS::CloudFormation::Stack
resource (DescribeStackResource), named by its construct path in the assembly metadata. A
stack that does not exist yet simply has no baseline.

The calls go through the audit's clients (tablesafe.scanner.aws): rate-limited, retried
within bounds, every attempt held to its connect plus read timeout, each stack to the
audit's time per table, and whatever an endpoint answers, a stack that cannot be fetched is
one error line of that stack; the check of the new templates is still reported.
boto3 is imported with this module only, so `tablesafe check` without it stays lean.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import boto3

from tablesafe.loader import TemplateSource, assembly_sources, describe_template
from tablesafe.model import InputError, LoadResult, TableDescription
from tablesafe.scanner.aws import (
    AWS_ERRORS,
    REGION_NAME,
    Account,
    Clients,
    MalformedAnswer,
    answer_field,
    caller_account,
    deadline,
    error_code,
    error_text,
    one_line,
    session_region,
)
from tablesafe.scanner.records import DEFAULT_TABLE_TIMEOUT


def _nested_stack_logical_id(parent: TemplateSource, nested: TemplateSource) -> str | None:
    """The logical ID of the parent's AWS::CloudFormation::Stack resource that deploys the
    nested stack: CDK names its construct `<id>.NestedStack/<id>.NestedStackResource`."""
    below = (nested.stack or "")[len(parent.stack or "") + 1 :]
    suffix = f"/{below}.NestedStack/{below.rsplit('/', 1)[-1]}.NestedStackResource"
    return next((lid for lid, path in parent.construct_paths.items() if path.endswith(suffix)), None)


class _Refused(Exception):
    """This stack's deployed template cannot be used as its baseline."""


class _NoAccount(Exception):
    """The credentials' account is unknown, so no stack deployed to an account is compared."""


class _Fetcher:
    """GetTemplate per stack through the audit's clients, and one account check."""

    def __init__(self) -> None:
        session = boto3.session.Session()
        self.clients = Clients()
        self.caller = Account("caller", session)
        self.default_region = session_region(session)
        self._account: str | _NoAccount | None = None

    def region(self, region: str | None) -> str:
        """The stack's region: the manifest's, else the session's."""
        if region is not None and not REGION_NAME.match(region):
            raise _Refused(f"the assembly names the region {one_line(repr(region), 80)}, which is no region")
        if region is None and self.default_region is None:
            raise _Refused("the assembly names no region for it: set AWS_REGION")
        return region or str(self.default_region)

    def account(self, region: str) -> str:
        """The credentials' account, looked up once; raises _NoAccount when that failed."""
        if self._account is None:
            try:
                self._account = caller_account(self.caller.session, self.clients, region)
            except AWS_ERRORS as error:
                self._account = _NoAccount(f"sts GetCallerIdentity: {error_text(error)}")
        if isinstance(self._account, _NoAccount):
            raise self._account
        return self._account

    def template(self, stack: str, region: str) -> str | None:
        """The deployed template's text; None when the stack does not exist."""
        try:
            answer = self.clients.get(self.caller, region, "cloudformation").get_template(
                StackName=stack, TemplateStage="Original"
            )
            body = answer.get("TemplateBody") if isinstance(answer, Mapping) else None
            if not isinstance(body, str | Mapping):
                raise MalformedAnswer("malformed answer: no TemplateBody")
        except AWS_ERRORS as error:
            if _does_not_exist(error):
                return None
            raise _Refused(f"GetTemplate: {error_text(error)}") from None
        # boto3 decodes a JSON template; a YAML one comes back as text
        return json.dumps(body, indent=1) if isinstance(body, Mapping) else body

    def nested_stack_id(self, parent: str, logical_id: str, region: str) -> str | None:
        try:
            detail = self.clients.get(self.caller, region, "cloudformation").describe_stack_resource(
                StackName=parent, LogicalResourceId=logical_id
            )
            physical_id = answer_field(detail, "StackResourceDetail", dict).get("PhysicalResourceId")
        except AWS_ERRORS as error:
            if _does_not_exist(error):
                return None
            raise _Refused(f"DescribeStackResource: {error_text(error)}") from None
        return physical_id if isinstance(physical_id, str) and physical_id else None


def _does_not_exist(error: Exception) -> bool:
    """CloudFormation's answer for a stack, or a stack's resource, that is not deployed."""
    return error_code(error) is not None and "does not exist" in str(error)


def _fetch_one(
    fetcher: _Fetcher,
    source: TemplateSource,
    deployed: dict[str, tuple[TemplateSource, str]],
    result: LoadResult,
) -> None:
    account, manifest_region = source.account_region
    region = fetcher.region(manifest_region)
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


def _fetch(fetcher: _Fetcher, sources: Iterable[TemplateSource], result: LoadResult) -> None:
    """Parents before their nested stacks; a failure, whatever it is, costs only its own
    stack, which has the audit's time per table for all its calls."""
    deployed: dict[str, tuple[TemplateSource, str]] = {}
    """Stack display name -> its source and its name or ARN for the API, once fetched."""
    uncompared: list[str] = []
    no_account = ""
    for source in sorted(sources, key=lambda s: (s.stack or "").count("/")):
        reason = f"not read within {DEFAULT_TABLE_TIMEOUT:g} s"
        try:
            with deadline(time.monotonic() + DEFAULT_TABLE_TIMEOUT, reason):
                _fetch_one(fetcher, source, deployed, result)
        except _NoAccount as problem:  # one error, below, for every stack it leaves out
            no_account = str(problem)
            uncompared.append(str(source.stack))
        except _Refused as refused:
            result.errors.append(InputError(f"deployed:{source.stack}", f"baseline: {refused}"))
        except Exception as error:  # containment: whatever the answer, only this stack is lost
            result.errors.append(InputError(f"deployed:{source.stack}", f"baseline: {error_text(error)}"))
    if uncompared:
        message = f"{no_account}; not compared: {', '.join(uncompared)}"
        result.errors.append(InputError("--baseline deployed", message))


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
    if sources:
        _fetch(_Fetcher(), sources, result)
    return result.tables, result.errors
