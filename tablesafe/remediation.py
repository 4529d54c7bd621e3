"""Remediation, the advice printed with each finding, is rendered for that finding: the
table's own construct id, logical ID, stack, name and region, never an example. (A fix, by
contrast, rewrites the user's source: tablesafe.fix.)

Each rule has one `remediation(RemediationContext) -> Remediation` function. The context carries what the
finding knows about the table and renders each value for the snippet it lands in: a
Python or TypeScript string literal for CDK code, a quoted shell word for CLI commands. So
a construct id such as `O'Brien` or a table name from an AWS API can never break out of
the snippet. The catalogue (`tablesafe rules`) renders the same functions with placeholders.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tablesafe.model import GLOBAL_TABLE, Finding, Remediation, Rule, Source, TableChange, TableDescription
from tablesafe.neutralize import shell, text
from tablesafe.source.calls import L1_CLASSES

PYTHON, TYPESCRIPT = "python", "typescript"
CDK_METADATA_TYPE = "AWS::CDK::Metadata"
_RUNTIMES = {"Python": PYTHON, "node.js": TYPESCRIPT}
"""jsii runtime in the CDK analytics -> the app's language (node.js: TypeScript or JavaScript,
whose CDK code is written the same way; Java, .NET and Go apps get both snippets)."""
_RUNTIME = re.compile(rb"(?:^|[,{])([A-Za-z.]+)/[^!,{}]*!jsii-runtime\.Runtime")
_MAX_ANALYTICS = 1 << 20


def app_language(metadata_resource: Mapping[str, Any]) -> str | None:
    """The CDK app's language from its CDKMetadata resource (written by a CLI synth with
    version reporting on): Analytics is `v2:deflate64:` + base64 of gzip data naming the jsii
    runtime, e.g. `Python/3.11.7!jsii-runtime.Runtime`. None when absent or unreadable;
    decompression is bounded, since the template is untrusted."""
    properties = metadata_resource.get("Properties")
    analytics = properties.get("Analytics") if isinstance(properties, Mapping) else None
    if not isinstance(analytics, str) or not analytics.startswith("v2:deflate64:"):
        return None
    try:
        packed = base64.b64decode(analytics.removeprefix("v2:deflate64:"), validate=True)
        data = zlib.decompressobj(wbits=47).decompress(packed, _MAX_ANALYTICS)
    except (ValueError, zlib.error):
        return None
    match = _RUNTIME.search(data)
    return _RUNTIMES.get(match.group(1).decode()) if match else None


def python_string(value: str) -> str:
    """A Python string literal holding value exactly (repr escapes quotes and controls)."""
    return repr(value)


def typescript_string(value: str) -> str:
    """A TypeScript string literal holding value exactly (JSON escaping is valid TS)."""
    return json.dumps(value)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3 times more, per finding
class RemediationContext:
    """What a remediation may name, from one finding (or placeholders, for the catalogue)."""

    construct_id: str | None = None
    construct_path: str | None = None
    logical_id: str | None = None
    stack: str | None = None
    table_name: str | None = None
    table_arn: str | None = None
    region: str | None = None
    """The table's region: its ARN's (live), else its stack's (the assembly manifest)."""
    replica_region: str | None = None
    global_table: bool = False
    l1: bool = False
    """An L1 CfnTable/CfnGlobalTable (its construct path does not end in /Resource)."""
    live: bool = False
    language: str | None = None
    """python, typescript, or None when unknown (both are shown)."""
    change: TableChange | None = None
    from_source: bool = False
    """Read from a CDK source file (lint): the construct path is the construct id alone, and
    the call's variable and scope are known."""
    variable: str | None = None
    """The name the construct is assigned to in the source (`self.audit_log`)."""
    scope: str | None = None
    """The scope argument of the construct call in the source (`self`, `this`)."""
    cdk_props: Mapping[str, Any] | None = None
    """The props the L2 was written with, where known (TS002 names the replicas that use
    the deprecated prop)."""
    named: str = field(init=False)
    """The table in prose (one line, so it can stand in a code comment): its construct path
    (without the L1 `/Resource`), else logical ID, else name."""
    where: str = field(init=False)
    """Where the CDK code goes, as a comment line's text (the replica, the stack)."""

    def __post_init__(self) -> None:
        # computed once: every rule's summary and comments use them (a run may hold 100,000s)
        path = (self.construct_path or "").removesuffix("/Resource")
        named = text(path or self.logical_id or self.table_name or "the table")
        in_path = bool(self.stack) and (self.construct_path or "").startswith(f"{self.stack}/")
        place = f" in stack {text(self.stack)}" if self.stack and not in_path else ""
        if self.replica_region and self.global_table:
            where = f"the replica {text(self.replica_region)} of {named}{place}"
        else:
            where = f"{named}{place}"
        self.named, self.where = named, where

    @classmethod
    def of(
        cls, table: TableDescription, change: TableChange | None = None, *, replica: bool = True
    ) -> RemediationContext:
        """The context of a table; replica=False for a rule judged once per resource, which
        fixes the resource, not one of its replicas."""
        arn = (table.table_arn or "").split(":")
        return cls(
            construct_id=table.construct_id,
            construct_path=table.construct_path,
            logical_id=table.logical_id,
            stack=table.stack,
            table_name=table.table_name,
            table_arn=table.table_arn,
            region=arn[3] if len(arn) > 3 and arn[3] else table.stack_region,
            replica_region=table.replica_region if replica else None,
            global_table=table.resource_type == GLOBAL_TABLE,
            l1=_is_l1(table),
            live=table.source is Source.LIVE,
            language=table.language,
            change=change,
            from_source=table.source is Source.SOURCE,
            variable=table.variable,
            scope=table.scope,
            cdk_props=table.cdk_props,
        )

    @classmethod
    def for_finding(cls, finding: Finding) -> RemediationContext:
        return cls.of(finding.table, finding.change, replica=not finding.rule.per_resource)

    # --- names, rendered for each kind of snippet -------------------------------------

    @property
    def py_id(self) -> str:
        return python_string(self.construct_id) if self.construct_id else "construct_id"

    @property
    def ts_id(self) -> str:
        return typescript_string(self.construct_id) if self.construct_id else "constructId"

    @property
    def sh_region(self) -> str:
        region = self.replica_region or self.region
        return f" --region {shell(region)}" if region and region != "?" else ""

    @property
    def sh_table(self) -> str:
        """The table's name as one shell word: its name, else looked up from its stack."""
        if self.table_name:
            return shell(self.table_name)
        if self.stack and self.logical_id:
            return (
                f'"$(aws cloudformation describe-stack-resource --stack-name {shell(self.stack)}'
                f" --logical-resource-id {shell(self.logical_id)}{self.sh_region}"
                ' --query StackResourceDetail.PhysicalResourceId --output text)"'
            )
        return '"$TABLE_NAME"'

    @property
    def sh_arn(self) -> str:
        if self.table_arn:
            return shell(self.table_arn)
        return (
            f'"$(aws dynamodb describe-table --table-name {self.sh_table}{self.sh_region}'
            ' --query Table.TableArn --output text)"'
        )

    @property
    def sh_stack(self) -> str:
        return shell(self.stack) if self.stack else '"$STACK_NAME"'

    @property
    def in_code(self) -> bool:
        """The table is defined in code a fix can name: a deployed table only when a CDK stack
        owns it (its template names the construct path, `aws:cdk:path`)."""
        return not self.live or bool(self.stack and self.construct_path)

    @property
    def cdk_class(self) -> str:
        """The construct class the table was written with."""
        if self.l1:
            return "CfnGlobalTable" if self.global_table else "CfnTable"
        return "TableV2" if self.global_table else "Table"

    @property
    def l1_class(self) -> str:
        """The class of the table's CloudFormation resource (an L2's default child)."""
        return "CfnGlobalTable" if self.global_table else "CfnTable"

    @property
    def primary_replica(self) -> bool:
        """The replica of a TableV2 in its stack's own region: the table itself, whose props
        it takes (CDK refuses a ReplicaTableProps there). Recognised by the stack's region
        (the manifest's environment; a live table's ARN), or by the `${AWS::Region}` a
        region-agnostic stack writes. A CfnGlobalTable lists every replica, this one too."""
        region = self.replica_region
        return (
            self.global_table and not self.l1 and region is not None and region in (self.region, STACK_REGION)
        )

    @property
    def replica_entry(self) -> bool:
        """The fix goes into one replica's entry (a global table finding on a replica other
        than a TableV2's primary)."""
        return bool(self.replica_region) and self.global_table and not self.primary_replica

    def python_call(self) -> str:
        """The construct call (or replica entry) the Python code goes into, for a comment."""
        call = f"dynamodb.{self.cdk_class}({self.scope or 'self'}, {self.py_id}, ...)"
        if self.replica_entry:
            kind = "CfnGlobalTable.ReplicaSpecificationProperty" if self.l1 else "ReplicaTableProps"
            return f"dynamodb.{kind}(region={python_string(self.replica_region or '')}, ...) of {call}"
        return call

    def typescript_call(self) -> str:
        call = f"new dynamodb.{self.cdk_class}({self.scope or 'this'}, {self.ts_id}, {{ ... }})"
        if self.replica_entry:
            region = typescript_string(self.replica_region or "")
            return f"the replicas entry {{ region: {region}, ... }} of {call}"
        return call

    # --- reaching the construct from code pasted after it -------------------------------

    @property
    def _chain(self) -> tuple[str, str, tuple[str, ...]] | None:
        """(Python base, TypeScript base, construct ids) of a find_child chain that reaches
        the construct: from the call's scope in a source file; in a template, from the stack
        (`self` in its constructor) when the construct path starts with the stack's name,
        else from the app (`self.node.root`, from any construct). None when no path is known."""
        if self.from_source:
            if self.scope and self.construct_id:
                return self.scope, self.scope, (self.construct_id,)
            return None
        path = (self.construct_path or "").removesuffix("/Resource")
        if not path:
            return None
        if self.stack and path.startswith(f"{self.stack}/"):
            return "self", "this", tuple(path[len(self.stack) + 1 :].split("/"))
        return "self.node.root", "this.node.root", tuple(path.split("/"))

    def python_table(self) -> str:
        """The construct (the L2, or the L1 used directly) as a Python expression: its
        variable, else a find_child chain, else `table` (the comment then says what it is)."""
        if self.variable:
            return self.variable
        chain = self._chain
        if chain is None:
            return "table"
        return chain[0] + "".join(f".node.find_child({python_string(i)})" for i in chain[2])

    def _typescript_untyped(self) -> str | None:
        """The find_child chain in TypeScript (typed IConstruct), None without one."""
        chain = self._chain
        if self.variable or chain is None:
            return None
        return chain[1] + "".join(f".node.findChild({typescript_string(i)})" for i in chain[2])

    def typescript_table(self) -> str:
        """The construct as a TypeScript expression of its own class (a chain is cast)."""
        untyped = self._typescript_untyped()
        if untyped is not None:
            return f"({untyped} as dynamodb.{self.cdk_class})"
        return self.variable or "table"

    def python_resource(self) -> str:
        """The table's CloudFormation resource (CfnTable or CfnGlobalTable) in Python."""
        return self.python_table() if self.l1 else f"{self.python_table()}.node.default_child"

    def typescript_resource(self) -> str:
        if self.l1:
            return self.typescript_table()
        owner = self._typescript_untyped() or self.variable or "table"
        return f"({owner}.node.defaultChild as dynamodb.{self.l1_class})"

    def python_after(self) -> str:
        """Where a statement on the construct goes (python_table names it there)."""
        return self._after(self.python_call())

    def typescript_after(self) -> str:
        return self._after(self.typescript_call())

    def _after(self, call: str) -> str:
        if self.variable:
            return f"after {self.variable} = {call}"
        if self.from_source:
            if self.scope and self.construct_id:
                return f"right after {call}"
            return f"after {call}, with table the construct it returns"
        if self._chain is None:
            return f"after the table is created, with table its construct ({call})"
        stack = f"stack {text(self.stack)}" if self.stack else "a construct of the app"
        return f"in the constructor of {stack}, after the table is created"


STACK_REGION = "${AWS::Region}"
"""How a replica region shows that a region-agnostic stack's own region is meant (the
TableV2 primary replica's `Ref: AWS::Region`, as tablesafe.values.display renders it)."""


def _is_l1(table: TableDescription) -> bool:
    """An L1 CfnTable/CfnGlobalTable: the class lint read in the source, else a construct
    path without the L2's `/Resource`."""
    if table.source is Source.SOURCE:
        return table.cdk_class in L1_CLASSES
    return bool(table.construct_path) and not (table.construct_path or "").endswith("/Resource")


PLACEHOLDER = RemediationContext(
    construct_id="<construct id>",
    construct_path="<stack>/<construct id>",
    logical_id="<logical ID>",
    stack="<stack>",
)
"""The context the catalogue renders fixes with: placeholders, clearly not real names."""


def shown_languages(context: RemediationContext) -> tuple[str, ...]:
    """The CDK languages a fix is shown in: the app's, or both when it is unknown."""
    return (context.language,) if context.language in (PYTHON, TYPESCRIPT) else (PYTHON, TYPESCRIPT)


def for_reader(remediation: Remediation, context: RemediationContext, *, cdk_commands: bool) -> Remediation:
    """The snippets a reader of this finding needs: CDK code in the app's language (both
    when unknown); the CLI command for a live table, or when it holds the cdk commands of a
    replacement fix (cdk_commands); a template's table is fixed in code, not by the CLI."""
    languages = shown_languages(context)
    return Remediation(
        remediation.summary,
        remediation.cdk_python if PYTHON in languages else "",
        remediation.cdk_typescript if TYPESCRIPT in languages else "",
        remediation.cli if context.live or cdk_commands else "",
    )


def of_finding(finding: Finding) -> Remediation:
    """The rule's remediation rendered for this finding's table (and change), with the
    snippets its reader needs."""
    if finding.remedy is not None:
        return finding.remedy
    context = RemediationContext.for_finding(finding)
    return for_reader(finding.rule.remediate(context), context, cdk_commands=finding.rule.judges_changes)


@functools.cache
def of_rule(rule: Rule) -> Remediation:
    """The remediation with placeholders instead of a table: what the catalogue shows
    (rendered once per rule)."""
    return rule.remediate(PLACEHOLDER)
