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
import keyword
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
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+")


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


def _identifier(words: list[str], *, camel: bool) -> str:
    """A variable name from a construct id's words; "table" when none is usable."""
    words = [w for w in words if w]
    if camel:
        name = "".join(w.lower() if i == 0 else w[:1].upper() + w[1:].lower() for i, w in enumerate(words))
    else:
        name = "_".join(w.lower() for w in words)
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name) or name[0].isdigit():
        return "table"
    return name


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3 times more, per finding
class RemediationContext:
    """What a fix may name, from one finding (or placeholders, for the catalogue)."""

    construct_id: str | None = None
    construct_path: str | None = None
    logical_id: str | None = None
    stack: str | None = None
    table_name: str | None = None
    table_arn: str | None = None
    region: str | None = None
    replica_region: str | None = None
    global_table: bool = False
    l1: bool = False
    """An L1 CfnTable/CfnGlobalTable (its construct path does not end in /Resource)."""
    live: bool = False
    language: str | None = None
    """python, typescript, or None when unknown (both are shown)."""
    change: TableChange | None = None
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
        path = table.construct_path
        arn = (table.table_arn or "").split(":")
        return cls(
            construct_id=table.construct_id,
            construct_path=path,
            logical_id=table.logical_id,
            stack=table.stack,
            table_name=table.table_name,
            table_arn=table.table_arn,
            region=arn[3] if len(arn) > 3 and arn[3] else None,
            replica_region=table.replica_region if replica else None,
            global_table=table.resource_type == GLOBAL_TABLE,
            l1=_is_l1(table),
            live=table.source is Source.LIVE,
            language=table.language,
            change=change,
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
    def py_var(self) -> str:
        return _identifier(_WORD_BREAK.split(self.construct_id or ""), camel=False)

    @property
    def ts_var(self) -> str:
        return _identifier(_WORD_BREAK.split(self.construct_id or ""), camel=True)

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
        """The table is defined in code a fix can name: not a live table no stack manages."""
        return not self.live or bool(self.stack)

    @property
    def cdk_class(self) -> str:
        """The construct class the table was written with."""
        if self.l1:
            return "CfnGlobalTable" if self.global_table else "CfnTable"
        return "TableV2" if self.global_table else "Table"

    @property
    def replica_entry(self) -> bool:
        """The fix goes into one replica's entry (a global table finding on a replica)."""
        return bool(self.replica_region) and self.global_table

    def python_call(self) -> str:
        """The construct call (or replica entry) the Python code goes into, for a comment."""
        if self.replica_entry:
            kind = "CfnGlobalTable.ReplicaSpecificationProperty" if self.l1 else "ReplicaTableProps"
            return f"dynamodb.{kind}(region={python_string(self.replica_region or '')}, ...)"
        return f"dynamodb.{self.cdk_class}(self, {self.py_id}, ...)"

    def typescript_call(self) -> str:
        if self.replica_entry:
            return f"the replicas entry {{ region: {typescript_string(self.replica_region or '')}, ... }}"
        return f"new dynamodb.{self.cdk_class}(this, {self.ts_id}, {{ ... }})"


def _is_l1(table: TableDescription) -> bool:
    """An L1 CfnTable/CfnGlobalTable: the class lint read in the source, else a construct
    path without the L2's `/Resource`."""
    if table.source is Source.SOURCE:
        return table.cdk_class in L1_CLASSES
    return bool(table.construct_path) and not (table.construct_path or "").endswith("/Resource")


PLACEHOLDER = RemediationContext(construct_id="<construct id>", logical_id="<logical ID>", stack="<stack>")
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
    context = RemediationContext.for_finding(finding)
    return for_reader(finding.rule.remediate(context), context, cdk_commands=finding.rule.judges_changes)


@functools.cache
def of_rule(rule: Rule) -> Remediation:
    """The remediation with placeholders instead of a table: what the catalogue shows
    (rendered once per rule)."""
    return rule.remediate(PLACEHOLDER)
