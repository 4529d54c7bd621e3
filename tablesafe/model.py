"""The normalized description of one DynamoDB table that every rule judges.

Adapters (templates, CDK constructs, checkov, live APIs) build these; rules never look
at their inputs. A global table yields one description per replica.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tablesafe.remediation import RemediationContext

TABLE = "AWS::DynamoDB::Table"
GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"
TABLE_TYPES = frozenset({TABLE, GLOBAL_TABLE})


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value that cannot be proven before deploy; the reason names what it depends on."""

    reason: str


Judged = bool | Unknown | None
"""True/False when provable, Unknown when it depends on something, None when not set."""


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Source(StrEnum):
    TEMPLATE = "template"
    CDK = "cdk"
    SOURCE = "source"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class Suppression:
    """A reasoned, possibly expiring waiver of one rule, from Metadata or the config file."""

    rule_id: str
    reason: str
    expires: dt.date | None = None
    origin: str = "metadata"
    problem: str | None = None
    """Why this suppression cannot apply (reason too short, bad date); None when valid."""

    def applies(self, today: dt.date) -> bool:
        return self.problem is None and (self.expires is None or today <= self.expires)


class Decider(NamedTuple):
    """A statement of a source file that decides a field after the table's call."""

    line: int
    written_as: str
    """What it calls (`add_property_override`, `cfn_options.deletion_policy`)."""
    safe: str | None = None
    """Its line with the safe value, when its literal can be rewritten."""


@dataclass(frozen=True, slots=True)
class TableDescription:
    """One table, or one replica of a global table, as the rules see it."""

    resource_type: str
    source: Source = Source.TEMPLATE
    stack: str | None = None
    logical_id: str | None = None
    construct_path: str | None = None
    replica_region: str | None = None
    file: str | None = None
    line: int | None = None
    table_name: str | None = None
    table_arn: str | None = None
    pitr_enabled: Judged = None
    pitr_specified: bool = False
    """A PointInTimeRecoverySpecification is written, so a None pitr_enabled means that
    PointInTimeRecoveryEnabled is missing from it (which disables PITR)."""
    recovery_period_days: int | Unknown | None = None
    """None means not set: DynamoDB then keeps the default of 35 days."""
    deletion_protection: Judged = None
    deletion_policy: str | Unknown | None = None
    """None means the attribute is absent, which CloudFormation treats as Delete."""
    update_replace_policy: str | Unknown | None = None
    language: str | None = None
    """The CDK app's language (python, typescript), for fixes in it; None when unknown."""
    cdk_props: Mapping[str, Any] | None = None
    """Props the CDK L2 construct was created with (analytics metadata); None if unknown."""
    suppressions: tuple[Suppression, ...] = ()
    replacing_props: Mapping[str, Any] | None = None
    """The properties whose change replaces the table (tablesafe.replacement_data), as
    written, plus AttributeDefinitions; None when the adapter cannot know them."""
    cdk_class: str | None = None
    """The construct class a source file writes (Table, TableV2, CfnTable, CfnGlobalTable),
    so lint's fixes name it; None where the adapter reads a template or a live table."""
    set_at: Mapping[str, Decider] | None = None
    """Source files: the later statement that decides a field (an override, a removal
    policy applied), by field name; a finding on that field points there."""
    stack_region: str | None = None
    """The region the table's stack deploys to (the assembly manifest's `environment`);
    None when the stack is region-agnostic or the input does not say. A TableV2's replica
    in this region is the table itself, set through the table's own props."""
    variable: str | None = None
    """Source files: the name the construct is assigned to (`self.audit_log`), which a
    remediation that calls a method on the table uses."""
    scope: str | None = None
    """Source files: the scope argument of the call as written (`self`, `this`), through
    which a remediation reaches an unassigned construct."""
    last_proven: dt.date | Unknown | None = None
    """A live table's last successful restore drill (`tablesafe drill`), by its UTC day; None:
    never drilled, Unknown: no drill results were read. Only TS008 reads it."""

    @property
    def resource_key(self) -> tuple[str | int | None, ...]:
        """Identifies the resource across its replica descriptions (the line tells apart the
        tables of one source file, which have no stack or logical ID)."""
        return (self.file, self.line, self.stack, self.logical_id, self.table_arn or self.table_name)

    @property
    def construct_id(self) -> str | None:
        """The table construct's own id (the path's last segment above the L1 `Resource`):
        what stays the same when a construct moves to another stack or scope."""
        if not self.construct_path:
            return None
        return self.construct_path.removesuffix("/Resource").rsplit("/", 1)[-1] or None

    @property
    def resource_name(self) -> str:
        """How reports name the resource: construct path, else logical ID, else table name."""
        return self.construct_path or self.logical_id or self.table_name or "table"

    @property
    def display_name(self) -> str:
        if self.replica_region:
            return f"{self.resource_name} (replica {self.replica_region})"
        return self.resource_name


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """The tunable inputs of the rules, from the config file."""

    min_recovery_period_days: int = 7
    drill_max_age_days: int = 35
    """TS008: the last successful drill may be at most this many days old (a monthly drill
    with a few days to spare)."""
    today: dt.date | None = None
    """The day the rules judge on (set by engine.evaluate; None: today), so that a rule that
    counts days stays a pure function of its inputs."""


@dataclass(frozen=True, slots=True)
class Remediation:
    summary: str
    cdk_python: str
    cdk_typescript: str
    cli: str

    def code(self) -> dict[str, str]:
        """The snippets by kind, as the JSON contract names them (empty: not for this reader)."""
        return {"cdk_python": self.cdk_python, "cdk_typescript": self.cdk_typescript, "cli": self.cli}


@dataclass(frozen=True, slots=True)
class TableChange:
    """One table of a baseline (previous assembly, deployed stack, lockfile) paired with
    what it becomes in the new input; new is None when the table left the stack."""

    old: TableDescription
    new: TableDescription | None
    matched_by: str | None = None
    """How the pair was found: "logical ID", "construct path", "table name", "key schema"."""
    baseline: str = "the baseline"
    """Where old came from, for messages (a path, "the deployed stack", the lockfile)."""

    @property
    def table(self) -> TableDescription:
        """The description a finding points at: the new table, or the removed one."""
        return self.new or self.old


Check = Callable[[TableDescription, RuleSettings], list[str]]
ChangeCheck = Callable[[TableChange, RuleSettings], list[str]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's metadata beside the pure function that judges one table description."""

    id: str
    slug: str
    title: str
    rationale: str
    severity: Severity
    remediate: Callable[[RemediationContext], Remediation]
    """The remediation for one finding, rendered from what it knows of the table
    (tablesafe.remediation.of_finding; the catalogue's: tablesafe.remediation.of_rule)."""
    controls: tuple[str, ...]
    check: Check | ChangeCheck
    help_url: str
    per_resource: bool = False
    """Judged once per resource, not per replica (the policy belongs to the resource)."""
    judges_changes: bool = False
    """check takes a TableChange (baseline vs new) instead of one TableDescription."""
    default_enabled: bool = True
    """False for an opt-in rule: it runs only when the config enables it
    (`rules: {TS008: {enabled: true}}`)."""


@dataclass(slots=True)
class Finding:
    """One verdict in the JSON contract's shape."""

    rule: Rule
    table: TableDescription
    severity: Severity
    message: str
    suppressed: bool = False
    suppression_reason: str | None = None
    change: TableChange | None = None
    """The baseline pair a change rule (TS005, TS006) judged; its fix depends on the cause."""
    line: int | None = None
    """Where the finding's value is decided, when not at the table's own line (a later
    statement of a source file that overrides the props)."""
    remedy: Remediation | None = None
    """A remediation the adapter knows better than the rule: lint's, for a value that such
    a statement decides (the statement, not the props, is what to change)."""

    @property
    def replica_region(self) -> str | None:
        """The replica this finding is about; None for a rule judged once per resource."""
        return None if self.rule.per_resource else self.table.replica_region


CONFIG_ERROR = "config"


@dataclass(frozen=True, slots=True)
class InputError:
    """An input that could not be read or understood: exit code 2, the run goes on."""

    path: str
    problem: str
    kind: str = "input"
    """"input", or CONFIG_ERROR for the configuration file (reported first, as such)."""

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(slots=True)
class LoadResult:
    tables: list[TableDescription] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    stacks: int = 0
    changes: list[TableChange] = field(default_factory=list)
    """Tables paired with a baseline, for the rules that judge changes."""
    identity_only: bool = False
    """Loading a baseline: read what identifies each table (for TS005/TS006), not its line
    or protection settings, which a baseline never reports."""
    stack_names: set[str | None] = field(default_factory=set)
    """The stacks read (None for a bare template), tables or not: a stack whose last table
    was removed is still a stack the baseline is compared with."""
    files: list[str] = field(default_factory=list)
    """Every template read, as shown to the user (`check -v` lists them)."""

    def extend(self, other: LoadResult) -> None:
        self.tables.extend(other.tables)
        self.errors.extend(other.errors)
        self.notices.extend(other.notices)
        self.stacks += other.stacks
        self.changes.extend(other.changes)
        self.stack_names |= other.stack_names
        self.files.extend(other.files)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the reader should know that is not a finding (e.g. a rule that could not run)."""

    level: Severity
    message: str
    rule_id: str | None = None
    """The rule this notice is about; dropped when that rule is disabled."""


@dataclass(slots=True)
class Report:
    """Everything one run produced; every output format renders this."""

    findings: list[Finding]
    tables: list[TableDescription]
    rules: list[Rule]
    errors: list[InputError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    stacks: int = 0

    def summary(self) -> dict[str, int]:
        active = [f for f in self.findings if not f.suppressed]
        return {
            "tables": len({t.resource_key for t in self.tables}),
            "findings": len(active),
            "errors": sum(f.severity is Severity.ERROR for f in active),
            "warnings": sum(f.severity is Severity.WARNING for f in active),
            "suppressed": len(self.findings) - len(active),
        }
