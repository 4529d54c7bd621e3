"""The apps of tests/test_pasted_remediation.py, and pasting a printed remediation into them.

One CDK app per language (Python, TypeScript), written from one description: a stack per
shape (`Table`, `TableV2` in a region-agnostic stack, a `TableV2` failing in its primary
region and in a replica, `CfnTable`, `CfnGlobalTable`, tables inside a custom construct,
tables kept in attributes), each with one table per rule it breaks, otherwise safe; and
the changes of TS005/TS006 between the deployed version (v1) and the new one (v2). The
stacks whose names start with `Lint` are a copy fixed with `tablesafe lint`'s remediation,
the others with `tablesafe check`'s.

Pasting follows the comment above the code, as a reader would: `set in <call>` puts the
props into that call (replacing a prop of the same name, and the one named after `instead
of`); a statement goes after the table (`in the constructor of stack S, after the table is
created`, `right after <call>`, `after <variable> = <call>`), in the version that still has
the table when the comment says `where <call> is still written`. Every app is written in
one layout, so that this is text work: a construct call or replica entry starts on a
header line (`dynamodb.Table(self, 'Id',`, `new dynamodb.Table(this, "Id", {`,
`dynamodb.ReplicaTableProps(region='eu-west-1',`, `{ region: "eu-west-1",`), holds one prop
per line and ends on a line of its own at the header's indentation.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

V1, V2 = "v1", "v2"
"""The deployed version of the app and the change being checked."""
HOME, OTHER = "us-east-1", "eu-west-1"
RULES = ("TS001", "TS002", "TS003", "TS004", "TS007")
LINT = "Lint"
"""The prefix of the stacks, classes and construct ids fixed with lint's remediation."""
METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"


@dataclass(frozen=True)
class Table:
    """One table as v2 writes it; v1_* say how v1 differs (None: the same)."""

    cls: str
    id: str
    fault: str | None = None
    """The rule the table breaks (TS001 ... TS007), or None when it is safe."""
    fault_in: str | None = None
    """The replica region whose own entry holds the fault; None: the table's props."""
    attribute: str | None = None
    """The snake_case attribute the stack keeps it in (Python self.x, TypeScript this.x)."""
    replicas: tuple[str, ...] = ()
    key: str = "pk"
    only: str | None = None
    """V1 or V2 when the table exists in that version only."""
    v1_cls: str | None = None
    v1_id: str | None = None
    v1_key: str | None = None
    v1_fault: str | None = None

    def as_of(self, version: str) -> Table | None:
        if self.only not in (None, version):
            return None
        if version == V2:
            return self
        return replace(
            self,
            cls=self.v1_cls or self.cls,
            id=self.v1_id or self.id,
            key=self.v1_key or self.key,
            fault=self.v1_fault or self.fault,
        )

    @property
    def l1(self) -> bool:
        return self.cls.startswith("Cfn")


@dataclass(frozen=True)
class Stack:
    name: str
    tables: tuple[Table, ...] = ()
    group: tuple[Table, ...] = ()
    """Tables inside the custom construct `<name>Archive` (construct id `Archive`)."""
    agnostic: bool = False
    """No env: the stack's region is `AWS::Region` (a TableV2's primary replica too)."""


def _each(cls: str, name: str, rules: Iterable[str] = RULES, **fields: object) -> tuple[Table, ...]:
    return tuple(Table(cls, f"{name}{rule}", fault=rule, **fields) for rule in rules)  # type: ignore[arg-type]


def shape_stacks(prefix: str) -> list[Stack]:
    """A stack per shape, a table per rule that applies to it (ids unique in the app)."""
    p = prefix
    held = tuple(Table("Table", f"{p}Held{r}", fault=r, attribute=f"held_{r.lower()}") for r in RULES)
    return [
        Stack(f"{p}Tables", _each("Table", f"{p}Table")),
        Stack(f"{p}AgnosticV2", _each("TableV2", f"{p}Agnostic"), agnostic=True),
        Stack(f"{p}PrimaryV2", _each("TableV2", f"{p}Primary", replicas=(OTHER,))),
        Stack(
            f"{p}ReplicaV2",
            _each(
                "TableV2",
                f"{p}Replica",
                ("TS001", "TS002", "TS003", "TS007"),
                replicas=(OTHER,),
                fault_in=OTHER,
            ),
        ),
        Stack(f"{p}L1", _each("CfnTable", f"{p}Cfn", ("TS001", "TS003", "TS004", "TS007"))),
        Stack(
            f"{p}GlobalL1",
            (
                Table("CfnGlobalTable", f"{p}GlobalTS001", "TS001", fault_in=HOME, replicas=(HOME, OTHER)),
                Table("CfnGlobalTable", f"{p}GlobalTS003", "TS003", fault_in=OTHER, replicas=(HOME, OTHER)),
                Table("CfnGlobalTable", f"{p}GlobalTS004", "TS004", replicas=(HOME, OTHER)),
                Table("CfnGlobalTable", f"{p}GlobalTS007", "TS007", fault_in=OTHER, replicas=(HOME, OTHER)),
            ),
        ),
        Stack(
            f"{p}Grouped",
            group=(*_each("Table", f"{p}Grouped"), Table("CfnTable", f"{p}GroupedCfnTS004", "TS004")),
        ),
        Stack(f"{p}Held", (*held, Table("CfnTable", f"{p}HeldCfnTS004", "TS004", attribute="held_cfn"))),
    ]


def app_stacks() -> list[Stack]:
    """Both copies of the shapes, and the changes: check's copy has every cause of TS005 and
    TS006; lint's copy the two a source file shows (a swap, a changed key)."""
    stacks = {stack.name: stack for stack in (*shape_stacks(""), *shape_stacks(LINT))}

    def add(name: str, *tables: Table, group: tuple[Table, ...] = ()) -> None:
        stack = stacks.get(name, Stack(name))
        stacks[name] = replace(stack, tables=stack.tables + tables, group=stack.group + group)

    for p in ("", LINT):
        add(
            f"{p}Changes",
            Table("TableV2", f"{p}Swap", key=f"{p}swapKey", v1_cls="Table", v1_fault="TS004"),
            Table("Table", f"{p}Keys", key=f"{p}newKey", v1_key=f"{p}oldKey", v1_fault="TS004"),
        )
    add(
        "Changes",
        Table("Table", "Dropped", "TS004", key="droppedKey", only=V1),
        Table("Table", "Traveller", key="travellerKey", only=V1, v1_fault="TS004"),
        Table("TableV2", "V2Renamed", key="v2RenamedKey", v1_id="V2Original"),
        Table("CfnTable", "CfnRenamed", key="cfnRenamedKey", v1_id="CfnOriginal"),
    )
    add("Moves", Table("Table", "Traveller", key="travellerKey", only=V2))
    add("Held", Table("Table", "AuditTrail", key="auditKey", attribute="audit_log", v1_id="AuditLog"))
    add(
        "Grouped",
        Table("Table", "Moved", key="movedKey", only=V1),
        group=(Table("Table", "Moved", key="movedKey", only=V2),),
    )
    return list(stacks.values())


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# --- writing the apps -------------------------------------------------------------------


@dataclass(frozen=True)
class Struct:
    """A CDK struct (props object): a class call in Python, an object literal in TypeScript."""

    cls: str
    fields: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class Code:
    """An expression spelled the same in both languages (`RemovalPolicy.DESTROY`)."""

    text: str


Prop = tuple[str, object]
"""A prop as camelCase name and value (bool, int, str, Code, Struct, or a list of them)."""


def _pitr(cls: str, fault: str | None) -> list[Prop]:
    """PITR as the fault leaves it: none (TS001 on a table), deprecated (TS002), short (TS007)."""
    if fault == "TS002":
        return [("pointInTimeRecovery", True)]
    spec = "dynamodb.PointInTimeRecoverySpecification"
    if cls.startswith("Cfn"):
        spec = f"dynamodb.{cls}.PointInTimeRecoverySpecificationProperty"
    days = 3 if fault == "TS007" else 35
    fields = (("pointInTimeRecoveryEnabled", fault != "TS001"), ("recoveryPeriodInDays", days))
    return [("pointInTimeRecoverySpecification", Struct(spec, fields))]


def table_props(table: Table, fault: str | None) -> list[Prop]:
    """The props of the table's call, safe but for a fault written there."""
    if table.l1:
        kind = f"dynamodb.{table.cls}"
        props: list[Prop] = [
            (
                "keySchema",
                [Struct(f"{kind}.KeySchemaProperty", (("attributeName", table.key), ("keyType", "HASH")))],
            ),
            (
                "attributeDefinitions",
                [
                    Struct(
                        f"{kind}.AttributeDefinitionProperty",
                        (("attributeName", table.key), ("attributeType", "S")),
                    )
                ],
            ),
            ("billingMode", "PAY_PER_REQUEST"),
        ]
        if table.cls == "CfnGlobalTable":  # each replica entry holds its own settings
            return props
        props += [] if fault == "TS001" else _pitr(table.cls, fault)
        return props + ([] if fault == "TS003" else [("deletionProtectionEnabled", True)])
    key = Struct("dynamodb.Attribute", (("name", table.key), ("type", Code("dynamodb.AttributeType.STRING"))))
    props = [("partitionKey", key)]
    props += [] if fault == "TS001" else _pitr(table.cls, fault)
    props.append(("deletionProtection", fault != "TS003"))
    return props + ([("removalPolicy", Code("RemovalPolicy.DESTROY"))] if fault == "TS004" else [])


def replica_props(table: Table, fault: str | None) -> list[Prop]:
    """The props of one replica entry: a CfnGlobalTable's own settings; a TableV2's faults."""
    if table.cls == "CfnGlobalTable":
        props = [] if fault == "TS001" else _pitr(table.cls, fault)
        return props + ([] if fault == "TS003" else [("deletionProtectionEnabled", True)])
    if fault == "TS001":
        off = Struct("dynamodb.PointInTimeRecoverySpecification", (("pointInTimeRecoveryEnabled", False),))
        return [("pointInTimeRecoverySpecification", off)]
    if fault == "TS003":
        return [("deletionProtection", False)]
    return _pitr(table.cls, fault) if fault else []


class Writer:
    """One language's rendering of the app description; the layout is the same in both."""

    comment: str
    suffix: str
    step: str
    """One level of indentation."""

    def app(self, stacks: list[Stack], version: str, drop: frozenset[str] = frozenset()) -> str:
        """The app's source in version, without the tables whose construct ids are in drop."""
        out = self.head()
        for stack in stacks:
            group = list(self.tables(stack.group, version, drop))
            if group:
                out += self.group(stack, group)
            out += self.stack(stack, list(self.tables(stack.tables, version, drop)), bool(group))
        return "\n".join(out + self.tail(stacks)) + "\n"

    @staticmethod
    def tables(tables: Iterable[Table], version: str, drop: frozenset[str]) -> Iterator[Table]:
        for table in tables:
            found = table.as_of(version)
            if found is not None and found.id not in drop:
                yield found

    def table(self, table: Table, indent: str) -> list[str]:
        """One table's statement(s): the call, one prop per line, replica entries likewise."""
        inner = indent + self.step
        lines = [indent + self.call_header(table)]
        lines += [inner + self.prop(p) for p in table_props(table, None if table.fault_in else table.fault)]
        if table.replicas:
            lines.append(inner + self.prop(("replicas", None)))
            for region in table.replicas:
                fault = table.fault if table.fault_in == region else None
                lines.append(inner + self.step + self.entry_header(table, region))
                lines += [inner + self.step * 2 + self.prop(p) for p in replica_props(table, fault)]
                lines.append(inner + self.step + self.entry_close)
            lines.append(inner + "],")
        lines.append(indent + self.call_close)
        if table.l1 and table.fault != "TS004":  # an L1 has no removal policy prop
            lines.append(indent + self.retain(table))
        return lines

    def prop(self, prop: Prop) -> str:
        """`name=value,` / `name: value,` (a None value opens a list: `replicas=[`)."""
        name, value = prop
        return self.name(name) + self.assign + ("[" if value is None else self.value(value) + ",")

    def value(self, value: object) -> str:
        if isinstance(value, Code):
            return value.text
        if isinstance(value, list):
            return "[" + ", ".join(self.value(item) for item in value) + "]"
        if isinstance(value, Struct):
            return self.struct(value)
        if isinstance(value, bool):
            return self.boolean(value)
        return self.string(value) if isinstance(value, str) else str(value)

    # the language's words
    assign: str
    call_close: str
    entry_close: str

    def head(self) -> list[str]:
        raise NotImplementedError

    def group(self, stack: Stack, tables: list[Table]) -> list[str]:
        raise NotImplementedError

    def stack(self, stack: Stack, tables: list[Table], has_group: bool) -> list[str]:
        raise NotImplementedError

    def tail(self, stacks: list[Stack]) -> list[str]:
        raise NotImplementedError

    def call_header(self, table: Table) -> str:
        raise NotImplementedError

    def entry_header(self, table: Table, region: str) -> str:
        raise NotImplementedError

    def retain(self, table: Table) -> str:
        raise NotImplementedError

    def name(self, prop: str) -> str:
        raise NotImplementedError

    def struct(self, struct: Struct) -> str:
        raise NotImplementedError

    def boolean(self, value: bool) -> str:
        raise NotImplementedError

    def string(self, value: str) -> str:
        raise NotImplementedError


class PythonWriter(Writer):
    comment, suffix, step = "#", ".py", "    "
    assign, call_close, entry_close = "=", ")", "),"

    def head(self) -> list[str]:
        return [
            "import os",
            "",
            "import aws_cdk as cdk",
            "from aws_cdk import RemovalPolicy, Stack, Validations",
            "from aws_cdk import aws_dynamodb as dynamodb",
            "from constructs import Construct",
            "",
            f"ENV = cdk.Environment(account='111111111111', region={HOME!r})",
        ]

    def group(self, stack: Stack, tables: list[Table]) -> list[str]:
        out = ["", "", f"class {stack.name}Archive(Construct):"]
        out += ["    def __init__(self, scope: Construct, construct_id: str) -> None:"]
        out += ["        super().__init__(scope, construct_id)"]
        return out + [line for table in tables for line in self.table(table, " " * 8)]

    def stack(self, stack: Stack, tables: list[Table], has_group: bool) -> list[str]:
        out = ["", "", f"class {stack.name}(Stack):"]
        out += ["    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:"]
        out += ["        super().__init__(scope, construct_id, **kwargs)"]
        out += [line for table in tables for line in self.table(table, " " * 8)]
        return out + ([f"        {stack.name}Archive(self, 'Archive')"] if has_group else [])

    def tail(self, stacks: list[Stack]) -> list[str]:
        return [
            "",
            "",
            f"app = cdk.App(context={{{METADATA_FLAG!r}: True}})",
            *(f"{s.name}(app, {s.name!r}{'' if s.agnostic else ', env=ENV'})" for s in stacks),
            "plugin = os.environ.get('TABLESAFE_PLUGIN')",  # the validator or the pack, when asked
            "if plugin == 'validator':",
            "    from tablesafe.cdk_aspects import TableSafetyValidator",
            "",
            "    Validations.of(app).add_plugins(TableSafetyValidator())",
            "elif plugin == 'pack':",
            "    from tablesafe.cdk_aspects import TableSafetyPack",
            "",
            "    Validations.of(app).add_plugins(TableSafetyPack(app))",
            "app.synth()",
        ]

    @staticmethod
    def variable(table: Table) -> str:
        return f"self.{table.attribute}" if table.attribute else f"table_{table.id.lower()}"

    def call_header(self, table: Table) -> str:
        assigned = table.attribute or (table.l1 and table.fault != "TS004")
        target = f"{self.variable(table)} = " if assigned else ""
        return f"{target}dynamodb.{table.cls}(self, {table.id!r},"

    def entry_header(self, table: Table, region: str) -> str:
        entry = "CfnGlobalTable.ReplicaSpecificationProperty" if table.l1 else "ReplicaTableProps"
        return f"dynamodb.{entry}(region={region!r},"

    def retain(self, table: Table) -> str:
        return f"{self.variable(table)}.apply_removal_policy(RemovalPolicy.RETAIN)"

    def name(self, prop: str) -> str:
        return re.sub(r"([A-Z])", r"_\1", prop).lower()

    def struct(self, struct: Struct) -> str:
        return f"{struct.cls}(" + ", ".join(f"{self.name(k)}={self.value(v)}" for k, v in struct.fields) + ")"

    def boolean(self, value: bool) -> str:
        return str(value)

    def string(self, value: str) -> str:
        return repr(value)


class TypeScriptWriter(Writer):
    comment, suffix, step = "//", ".ts", "  "
    assign, call_close, entry_close = ": ", "});", "},"

    def head(self) -> list[str]:
        return [
            "import * as cdk from 'aws-cdk-lib';",
            "import { RemovalPolicy, Stack, StackProps, aws_dynamodb as dynamodb } from 'aws-cdk-lib';",
            "import { Construct } from 'constructs';",
            "",
            f"const ENV = {{ account: '111111111111', region: {json.dumps(HOME)} }};",
        ]

    def group(self, stack: Stack, tables: list[Table]) -> list[str]:
        out = ["", f"class {stack.name}Archive extends Construct {{"]
        out += ["  constructor(scope: Construct, id: string) {", "    super(scope, id);"]
        out += [line for table in tables for line in self.table(table, " " * 4)]
        return [*out, "  }", "}"]

    def stack(self, stack: Stack, tables: list[Table], has_group: bool) -> list[str]:
        out = ["", f"class {stack.name} extends Stack {{"]
        out += [
            f"  public readonly {camel(table.attribute)}: dynamodb.{table.cls};"
            for table in tables
            if table.attribute
        ]
        out += [
            "  constructor(scope: Construct, id: string, props?: StackProps) {",
            "    super(scope, id, props);",
        ]
        out += [line for table in tables for line in self.table(table, " " * 4)]
        out += [f'    new {stack.name}Archive(this, "Archive");'] if has_group else []
        return [*out, "  }", "}"]

    def tail(self, stacks: list[Stack]) -> list[str]:
        return [
            "",
            f"const app = new cdk.App({{ context: {{ {json.dumps(METADATA_FLAG)}: true }} }});",
            *(
                f"new {s.name}(app, {json.dumps(s.name)}{'' if s.agnostic else ', { env: ENV }'});"
                for s in stacks
            ),
            "app.synth();",
        ]

    @staticmethod
    def variable(table: Table) -> str:
        return f"this.{camel(table.attribute)}" if table.attribute else f"table{table.id}"

    def call_header(self, table: Table) -> str:
        target = ""
        if table.attribute:
            target = f"{self.variable(table)} = "
        elif table.l1 and table.fault != "TS004":
            target = f"const {self.variable(table)} = "
        return f"{target}new dynamodb.{table.cls}(this, {json.dumps(table.id)}, {{"

    def entry_header(self, table: Table, region: str) -> str:
        return f"{{ region: {json.dumps(region)},"

    def retain(self, table: Table) -> str:
        return f"{self.variable(table)}.applyRemovalPolicy(RemovalPolicy.RETAIN);"

    def name(self, prop: str) -> str:
        return prop

    def struct(self, struct: Struct) -> str:
        return "{ " + ", ".join(f"{k}: {self.value(v)}" for k, v in struct.fields) + " }"

    def boolean(self, value: bool) -> str:
        return str(value).lower()

    def string(self, value: str) -> str:
        return json.dumps(value)


WRITERS = {"python": PythonWriter(), "typescript": TypeScriptWriter()}


# --- pasting ----------------------------------------------------------------------------


class PasteError(AssertionError):
    """A snippet whose comment does not say where it goes, or names what the app lacks."""


@dataclass(frozen=True)
class Block:
    """One piece of code of a snippet and the comment line above it that says where it goes."""

    where: str
    code: list[str]


def blocks(snippet: str, comment: str) -> list[Block]:
    """The code runs of a snippet, each with the comment line right above it (a snippet's
    other comments are steps for a person: remove, re-create, import)."""
    found: list[Block] = []
    where: str | None = None
    in_code = False
    for line in snippet.splitlines():
        if line.lstrip().startswith(comment):
            where, in_code = line.lstrip()[len(comment) :].strip(), False
        elif in_code:
            found[-1].code.append(line)
        elif where is None:
            raise PasteError(f"code without a comment that says where it goes: {line!r}")
        else:
            found.append(Block(where, [line]))
            in_code = True
    return found


_PY_CALL = re.compile(r"dynamodb\.(?P<cls>\w+)\((?P<scope>[\w.]+), (?P<id>'(?:[^'\\]|\\.)*'), \.\.\.\)")
_PY_REPLICA = re.compile(
    r"dynamodb\.(?:ReplicaTableProps|CfnGlobalTable\.ReplicaSpecificationProperty)"
    r"\(region=(?P<region>'[^']*'), \.\.\.\) of "
)
_TS_CALL = re.compile(
    r'new dynamodb\.(?P<cls>\w+)\((?P<scope>[\w.]+), (?P<id>"(?:[^"\\]|\\.)*"), \{ \.\.\. \}\)'
)
_TS_REPLICA = re.compile(r'the replicas entry \{ region: (?P<region>"[^"]*"), \.\.\. \} of ')
_EACH = re.compile(
    r"set in each (?:dynamodb\.ReplicaTableProps\(\.\.\., |replicas entry \{ \.\.\., )(?P<prop>\w+)"
)
_IN_STACK = re.compile(r"in the constructor of stack (?P<stack>[\w/-]+), after the table is created")
_INSTEAD = re.compile(r", instead of (?P<prop>\w+)$")


@dataclass(frozen=True)
class Place:
    """Where a block goes: into a call's props (or a replica entry's), or after a statement."""

    version: str
    table: str | None
    """The construct id of the table the comment names (None: a statement placed in a
    stack's constructor, after the construct its find_child chain starts from)."""
    replica: str | None = None
    each_writing: str | None = None
    """Every replica entry of the table that writes this prop (when the region is unknown)."""
    props: bool = False
    instead_of: str | None = None
    stack: str | None = None
    """For a statement placed in a stack's constructor: that stack."""


def literal_value(literal: str, language: str) -> str:
    """The value of a Python or TypeScript (JSON-style) string literal."""
    return ast.literal_eval(literal) if language == "python" else json.loads(literal)


def place_of(where: str, language: str) -> Place:
    """Read a location comment ('set in <call>', '... after the table is created', ...)."""
    call, replica = (_PY_CALL, _PY_REPLICA) if language == "python" else (_TS_CALL, _TS_REPLICA)
    calls = list(call.finditer(where))
    table = literal_value(calls[-1]["id"], language) if calls else None
    version = V1 if "is still written" in where else V2
    in_stack = _IN_STACK.search(where)
    if in_stack:
        return Place(version, table, stack=in_stack["stack"])
    if table is None:
        raise PasteError(f"the comment names no construct call: {where!r}")
    if " set in " in f" {where}":
        region = replica.search(where)
        instead = _INSTEAD.search(where)
        each = _EACH.search(where)
        return Place(
            version,
            table,
            replica=literal_value(region["region"], language) if region else None,
            each_writing=each["prop"] if each else None,
            props=True,
            instead_of=instead["prop"] if instead else None,
        )
    if "right after " in where or re.search(r"after [\w.]+ = ", where):
        return Place(version, table)
    raise PasteError(f"the comment does not say where the code goes: {where!r}")


class Source:
    """An app's source lines, edited by pastes."""

    def __init__(self, text: str, language: str) -> None:
        self.lines = text.splitlines()
        self.language = language
        self.step = 4 if language == "python" else 2

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @staticmethod
    def indentation(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def find(self, needle: str, start: int = 0, stop: int | None = None) -> int:
        hits = [i for i in range(start, stop or len(self.lines)) if needle in self.lines[i]]
        if len(hits) != 1:
            raise PasteError(f"{len(hits)} lines hold {needle!r}")
        return hits[0]

    def end(self, header: int) -> int:
        """The line that closes the call or entry opened on the header line (itself when
        the header line holds the whole statement)."""
        line = self.lines[header].rstrip()
        if line.endswith((")", ");")):
            return header
        depth = self.indentation(self.lines[header])
        return next(i for i in range(header + 1, len(self.lines)) if self.indentation(self.lines[i]) <= depth)

    def table_header(self, table: str) -> int:
        literal = repr(table) if self.language == "python" else json.dumps(table)
        scope = "self" if self.language == "python" else "this"
        return self.find(f"({scope}, {literal},")

    def replica_header(self, table: int, region: str) -> int:
        needle = f"(region={region!r}," if self.language == "python" else f"{{ region: {json.dumps(region)},"
        return self.find(needle, table, self.end(table))

    def entries_writing(self, table: int, prop: str) -> list[int]:
        """The header lines of the table's replica entries that write prop."""
        opening = "(region=" if self.language == "python" else "{ region: "
        headers = [i for i in range(table, self.end(table)) if opening in self.lines[i]]
        writing = [
            i
            for i in headers
            if any(re.match(rf"\s*{prop}\s*[=:]", line) for line in self.lines[i + 1 : self.end(i)])
        ]
        if not writing:
            raise PasteError(f"no replica entry of line {table + 1} writes {prop}")
        return writing

    def paste(self, place: Place, code: list[str], first_segment: str | None = None) -> None:
        """The code at the place (first_segment: the construct id below the stack that a
        statement placed in the stack's constructor must follow)."""
        if place.stack is not None:
            if first_segment is None:
                raise PasteError(
                    f"code for the constructor of stack {place.stack} reaches no construct: {code}"
                )
            header = self.child_header(place.stack, first_segment)
        else:
            header = self.table_header(place.table or "")
        if place.props:
            headers = [header]
            if place.replica is not None:
                headers = [self.replica_header(header, place.replica)]
            elif place.each_writing is not None:
                headers = self.entries_writing(header, place.each_writing)
            for entry in reversed(headers):  # from the last: an edit moves the lines below it
                self.set_props(entry, code, place.instead_of)
            return
        after = self.end(header)
        pad = " " * self.indentation(self.lines[header])
        self.lines[after + 1 : after + 1] = [pad + line for line in code]

    def child_header(self, stack: str, child: str) -> int:
        """The line of the stack's constructor that creates its child construct."""
        opening = f"class {stack}(Stack):" if self.language == "python" else f"class {stack} extends Stack {{"
        start = self.find(opening)
        stop = next(
            (i for i in range(start + 1, len(self.lines)) if self.lines[i].startswith("class ")),
            len(self.lines),
        )
        literal = repr(child) if self.language == "python" else json.dumps(child)
        scope = "self" if self.language == "python" else "this"
        return self.find(f"({scope}, {literal}", start, stop)

    def set_props(self, header: int, code: list[str], instead_of: str | None) -> None:
        """Props into the call or entry opened on the header line: a prop the code sets, and
        the one it stands instead of, leave first."""
        assign = "=" if self.language == "python" else ":"
        names = {m.group(1) for line in code if (m := re.match(rf"(\w+)\s*{assign}", line))}
        if instead_of:
            names.add(instead_of)
        level = self.indentation(self.lines[header]) + self.step
        close = self.end(header)

        def replaced(line: str) -> bool:
            written = re.match(rf"(\w+)\s*{assign}", line.strip())
            return self.indentation(line) == level and written is not None and written[1] in names

        kept = [line for line in self.lines[header + 1 : close] if not replaced(line)]
        self.lines[header + 1 : close] = kept + [" " * level + line for line in code]


def first_segment(code: list[str], language: str) -> str | None:
    """The first construct id a find_child chain in the code goes through."""
    pattern = (
        r"find_child\(('(?:[^'\\]|\\.)*')\)" if language == "python" else r'findChild\(("(?:[^"\\]|\\.)*")\)'
    )
    found = re.search(pattern, "\n".join(code))
    return literal_value(found[1], language) if found else None


PER_REPLICA = frozenset({"TS001", "TS003", "TS007"})
"""The rules judged on each replica of a global table (the others once per resource)."""
CHANGE_FINDINGS = {
    ("TS005", "Swap", None),
    ("TS005", "LintSwap", None),
    ("TS006", "Keys", None),
    ("TS006", "LintKeys", None),
    ("TS006", "Dropped", None),
    ("TS006", "Traveller", None),
    ("TS006", "V2Renamed", None),
    ("TS006", "CfnRenamed", None),
    ("TS006", "AuditTrail", None),
    ("TS006", "Moved", None),
}
"""(rule, construct id, replica) of the findings on the changes from v1 to v2."""


def expected_findings(stacks: list[Stack]) -> set[tuple[str, str, str | None]]:
    """(rule, construct id, replica region) of every finding `check v2 --baseline v1` must make."""
    found = set(CHANGE_FINDINGS)
    for stack in stacks:
        for table in (*stack.tables, *stack.group):
            new = table.as_of(V2)
            if new is None or new.fault is None:
                continue
            if new.fault not in PER_REPLICA or new.cls not in ("TableV2", "CfnGlobalTable"):
                found.add((new.fault, new.id, None))
                continue
            primary = "${AWS::Region}" if stack.agnostic else HOME
            regions = [new.fault_in] if new.fault_in else [primary, *new.replicas]
            found |= {(new.fault, new.id, region) for region in regions}
    return found
