"""`tablesafe lint --fix` and `--diff` on real Python and TypeScript CDK apps.

fixtures/source/fix/app.{py,ts} hold one table per way a safeguard can be missing, with
comments and uneven formatting; app.fixed.{py,ts} are what --fix must make of them. The
fixed Python app is synthesized once (one aws-cdk-lib subprocess) and `tablesafe check`
on its cloud assembly must agree with lint.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import tree_sitter_typescript
from conftest import JSII_QUIET, imported_top_modules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Language, Parser

from tablesafe.config import Config
from tablesafe.fix import apply_fixes, fix_files
from tablesafe.fix.plan import plan_edits
from tablesafe.lint import lint_files
from tablesafe.model import InputError, Report
from tablesafe.source import parse_source
from tablesafe.source.calls import TABLE_CLASSES, ConstructCall, Props

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "source" / "fix"
APPS = ("app.py", "app.ts")
FIXED_RULES = {"TS001", "TS002", "TS003", "TS004"}
NOT_LITERAL = {"Configured", "Extended"}
"""The tables whose props come from a variable or a spread: never rewritten, left to check."""
PROP_LINE = re.compile(
    r"point_?in_?time_?recovery|deletion_?protection|removal_?policy|RemovalPolicy|"
    r"^from aws_cdk\.aws_dynamodb import",
    re.I,
)
"""What a line that --fix may rewrite mentions: a fixed prop, or the import it extends."""


def fixable(report: Report) -> set[tuple[str, str | None, str | None]]:
    return {
        (f.rule.id, f.table.construct_path, f.table.replica_region)
        for f in report.findings
        if f.rule.id in FIXED_RULES and not f.suppressed
    }


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory, run_cli) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Both apps copied and fixed with one `tablesafe lint --fix` run."""
    folder = tmp_path_factory.mktemp("fixed")
    for name in APPS:
        shutil.copy(FIXTURES / name, folder / name)
    return folder, run_cli("lint", "--fix", *APPS, cwd=folder)


@pytest.mark.parametrize("name", APPS)
def test_fix_writes_the_expected_file(
    fixed: tuple[Path, subprocess.CompletedProcess[str]], name: str
) -> None:
    folder, _ = fixed
    expected = FIXTURES / name.replace("app.", "app.fixed.")
    assert (folder / name).read_text() == expected.read_text()


@pytest.mark.parametrize("name", APPS)
def test_fix_changes_only_the_fixed_props(name: str) -> None:
    """Every line the fix removes holds a fixed prop (or the import it extends); the rest of
    the file, comments included, is byte for byte what it was."""
    before = (FIXTURES / name).read_text().splitlines(keepends=True)
    after = (FIXTURES / name.replace("app.", "app.fixed.")).read_text().splitlines(keepends=True)
    removed = [line for line in difflib.ndiff(before, after) if line.startswith("- ")]
    assert removed and all(PROP_LINE.search(line[2:].strip()) for line in removed), removed
    comments = re.compile(r"(?:#|//) .*")
    assert comments.findall("".join(before)) == comments.findall("".join(after))


def test_fix_exits_0_and_says_what_it_fixed(fixed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, result = fixed
    assert result.returncode == 0, result.stdout + result.stderr  # only not-literal notices remain
    assert "tablesafe: fixed app.py: 13 fixes (TS001, TS002, TS003, TS004)" in result.stderr
    assert "tablesafe: fixed app.ts: 12 fixes (TS001, TS002, TS003, TS004)" in result.stderr
    assert "No findings in 13 tables" in " ".join(result.stdout.split())
    report = lint_files([str(folder / name) for name in APPS], Config())
    assert not fixable(report) and not report.errors


@pytest.mark.parametrize("name", APPS)
def test_the_apps_need_every_fix_on_tables_and_replicas(name: str) -> None:
    found = fixable(lint_files([str(FIXTURES / name)], Config()))
    assert {rule for rule, _, _ in found} == FIXED_RULES
    assert {("TS001", "Global", "us-west-2"), ("TS003", "Global", "eu-west-1")} <= found


def test_fix_twice_changes_nothing(fixed: tuple[Path, subprocess.CompletedProcess[str]], run_cli) -> None:
    folder, _ = fixed
    before = {name: (folder / name).read_bytes() for name in APPS}
    fixes, _, _, _ = fix_files([str(folder / name) for name in APPS], Config())
    assert fixes == []
    again = run_cli("lint", "--fix", *APPS, cwd=folder)
    assert again.returncode == 0 and "fixed" not in again.stderr
    assert {name: (folder / name).read_bytes() for name in APPS} == before


def test_fixed_typescript_parses_without_errors() -> None:
    text = (FIXTURES / "app.fixed.ts").read_bytes()
    tree = Parser(Language(tree_sitter_typescript.language_typescript())).parse(text)
    assert not tree.root_node.has_error


def test_not_literal_values_are_left_alone_and_still_reported(
    fixed: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, result = fixed
    for name in APPS:
        calls = (FIXTURES / name).read_text().split("not literals:")[1]
        assert (folder / name).read_text().split("not literals:")[1] == calls
    report = " ".join(result.stdout.split())  # the text report wraps to the terminal's width
    assert "Configured (line 85): TS003 (depends on `protect`" in report
    assert "Extended (line 94): TS001, TS003, TS007 (depends on `**extra`" in report
    assert "Configured (line 54): TS001, TS003, TS004, TS007 (depends on `...shared`" in report


def test_diff_prints_a_patch_git_applies_and_writes_nothing(run_cli, tmp_path: Path) -> None:
    for name in APPS:
        shutil.copy(FIXTURES / name, tmp_path / name)
    # no newline at the end; a form feed and U+2028 are no line ends for git
    no_newline = (
        "import * as ddb from 'aws-cdk-lib/aws-dynamodb'; // \f\u2028\n"
        "new ddb.Table(this, 'T', { partitionKey: pk })"
    )
    (tmp_path / "last-line.ts").write_text(no_newline)
    result = run_cli("lint", "--diff", *APPS, "last-line.ts", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ ")
    assert "tablesafe: would fix app.ts: 12 fixes" in result.stderr
    assert all((tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes() for name in APPS)
    subprocess.run(["git", "apply"], input=result.stdout, text=True, cwd=tmp_path, check=True)
    for name in APPS:
        assert (tmp_path / name).read_text() == (FIXTURES / name.replace("app.", "app.fixed.")).read_text()
    assert (tmp_path / "last-line.ts").read_text().endswith("  deletionProtection: true,\n})")
    clean = run_cli("lint", "--diff", *APPS, "last-line.ts", cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "")


HOSTILE_NAMES = [
    "my app.py",  # git ends the --- / +++ name with a tab: patch reads the space
    'we\tird"quote\\.py',
    "new\nline.py",  # one name in one header, not an extra line of the patch
    "\x1b[31mred.py",
    "::error file=x.py",
    "ünïcödé.ts",
]


@pytest.mark.parametrize("tool", ["git apply", "patch -p1"])
def test_diff_headers_take_any_file_name_back_exactly(run_cli, tmp_path: Path, tool: str) -> None:
    """File names are data: git quotes them in the headers, git apply and GNU patch read
    them back, and the names on stderr pass the terminal neutralizer."""
    for name in HOSTILE_NAMES:
        shutil.copy(FIXTURES / f"app{Path(name).suffix}", tmp_path / name)
    result = run_cli("lint", "--diff", *HOSTILE_NAMES, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    headers = [line for line in result.stdout.splitlines() if line.startswith(("diff --git", "--- ", "+++ "))]
    assert len(headers) == 3 * len(HOSTILE_NAMES)
    assert '--- "a/new\\nline.py"' in headers and '+++ "b/\\033[31mred.py"' in headers
    assert "--- a/my app.py\t" in headers
    assert "\x1b" not in result.stderr and not any(
        line.startswith("::") for line in result.stderr.splitlines()
    )
    assert len(result.stderr.splitlines()) == len(HOSTILE_NAMES)
    subprocess.run(
        tool.split(), input=result.stdout, text=True, cwd=tmp_path, check=True, capture_output=True
    )
    for name in HOSTILE_NAMES:
        fixed = FIXTURES / f"app.fixed{Path(name).suffix}"
        assert (tmp_path / name).read_text() == fixed.read_text(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(HOSTILE_NAMES)  # no stray file


REMAINS = """from aws_cdk import aws_dynamodb as ddb

PK = ddb.Attribute(name="pk", type=ddb.AttributeType.STRING)


def tables(self, policy):
    # tablesafe: ignore[TS003] rebuilt from the event log every night
    ddb.Table(self, "Cache", partition_key=PK, point_in_time_recovery=True)
    ddb.Table(
        self,
        "Both",
        partition_key=PK,
        point_in_time_recovery=True,
        point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True, recovery_period_in_days=3
        ),
        deletion_protection=True,
        removal_policy=policy,
    )
    ddb.TableV2(
        self,
        "Shadowed",
        partition_key=PK,
        point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        replicas=[ddb.ReplicaTableProps(region="eu-west-1", point_in_time_recovery=False)],
    )
"""


def test_what_cannot_be_fixed_remains_and_exits_1(run_cli, tmp_path: Path) -> None:
    """A suppressed finding is not fixed; TS002 stays where both props are written, or where
    the replica's deprecated prop is shadowed by the table's specification (rewriting it would
    turn PITR off for the replica); TS007 has no fix."""
    (tmp_path / "stack.py").write_text(REMAINS)
    result = run_cli("lint", "--fix", "stack.py", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    remaining = {
        (f["rule_id"], f["construct_path"], f["suppressed"]) for f in json.loads(result.stdout)["findings"]
    }
    assert remaining == {
        ("TS003", "Cache", True),
        ("TS002", "Both", False),
        ("TS007", "Both", False),
        ("TS002", "Shadowed", False),
    }
    fixed = (tmp_path / "stack.py").read_text()
    assert fixed == REMAINS.replace(
        '    ddb.Table(self, "Cache", partition_key=PK, point_in_time_recovery=True)\n',
        "    ddb.Table(\n"
        "        self,\n"
        '        "Cache",\n'
        "        partition_key=PK,\n"
        "        point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(\n"
        "            point_in_time_recovery_enabled=True\n"
        "        ),\n"
        "    )\n",
    )
    assert "tablesafe: fixed stack.py: 1 fix (TS002)" in result.stderr


def test_input_errors_exit_2(run_cli, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "app.ts", tmp_path / "app.ts")
    for mode in ("--fix", "--diff"):
        result = run_cli("lint", mode, "app.ts", "missing.py", cwd=tmp_path)
        assert result.returncode == 2, (mode, result.stderr)
        assert "missing.py: no such file" in result.stdout + result.stderr
    assert (tmp_path / "app.ts").read_text() == (FIXTURES / "app.fixed.ts").read_text()  # the rest is fixed


def test_a_file_that_cannot_be_written_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in APPS:
        shutil.copy(FIXTURES / name, tmp_path / name)
    replace = os.replace

    def read_only_python(source: str, target: Path) -> None:
        if Path(target).suffix == ".py":
            raise PermissionError(13, "Permission denied")
        replace(source, target)

    monkeypatch.setattr("tablesafe.writes.os.replace", read_only_python)
    problems: list[InputError] = []
    assert apply_fixes([str(tmp_path / name) for name in APPS], Config(), None, problems, write=True) is None
    assert [str(problem) for problem in problems] == [
        f"{tmp_path / 'app.py'}: cannot be written (Permission denied): left as it was"
    ]
    assert (tmp_path / "app.py").read_text() == (FIXTURES / "app.py").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(APPS)  # no temporary file left
    assert (tmp_path / "app.ts").read_text() == (FIXTURES / "app.fixed.ts").read_text()
    assert "fixed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (FIXTURES.parent).glob("*.*") if not p.stem.startswith("syntax_error"))
)
def test_fix_on_every_lint_fixture_leaves_only_what_it_cannot_fix(tmp_path: Path, name: str) -> None:
    """The lint fixtures (import aliases, replicas, non-literals, TSX): the fixed file parses,
    a second run changes nothing, and TS001/TS003 remain only on L1 tables (TS004 also stays
    where a later statement applies the removal policy)."""
    path = tmp_path / name
    shutil.copy(FIXTURES.parent / name, path)
    for fix in fix_files([str(path)], Config())[0]:
        fix.write(tmp_path)
    report = lint_files([str(path)], Config())
    assert not report.errors, report.errors
    assert fix_files([str(path)], Config())[0] == []
    l1 = {
        call.construct_id for call in parse_source(path, path.read_text()) if call.kind not in TABLE_CLASSES
    }
    assert {table for rule, table, _ in fixable(report) if rule in ("TS001", "TS003")} <= l1


IMPORTED = [
    (
        "from aws_cdk.aws_dynamodb import Attribute, Table\n",
        "from aws_cdk.aws_dynamodb import Attribute, PointInTimeRecoverySpecification, Table\n",
    ),
    (
        "from aws_cdk.aws_dynamodb import Table\n",
        "from aws_cdk.aws_dynamodb import PointInTimeRecoverySpecification, Table\n",
    ),
    (
        "from aws_cdk.aws_dynamodb import (\n    Attribute,\n    Table  # the L2\n)\n",
        "from aws_cdk.aws_dynamodb import (\n    Attribute,\n    PointInTimeRecoverySpecification,\n"
        "    Table  # the L2\n)\n",
    ),
    (  # not sorted: the name goes last
        "from aws_cdk.aws_dynamodb import Table, Attribute\n",
        "from aws_cdk.aws_dynamodb import Table, Attribute, PointInTimeRecoverySpecification\n",
    ),
    (  # only a local import: a module-level one is added
        "def tables():\n    from aws_cdk.aws_dynamodb import Table\n",
        "from aws_cdk.aws_dynamodb import PointInTimeRecoverySpecification\n\n"
        "def tables():\n    from aws_cdk.aws_dynamodb import Table\n",
    ),
    ("from aws_cdk.aws_dynamodb import *\n", "from aws_cdk.aws_dynamodb import *\n"),
]


@pytest.mark.parametrize(("imports", "expected"), IMPORTED)
def test_the_specification_class_is_imported_where_isort_would_put_it(
    tmp_path: Path, imports: str, expected: str
) -> None:
    path = tmp_path / "stack.py"
    call = '\n\ndef build(self, pk):\n    Table(self, "Orders", partition_key=pk, deletion_protection=True)\n'
    path.write_text(imports + call)
    [fix], _, _, _ = fix_files([str(path)], Config())
    laid_out = (  # past 100 columns inline: one argument per line, as ruff format writes it
        "    Table(\n"
        "        self,\n"
        '        "Orders",\n'
        "        partition_key=pk,\n"
        "        deletion_protection=True,\n"
        "        point_in_time_recovery_specification=PointInTimeRecoverySpecification(\n"
        "            point_in_time_recovery_enabled=True\n"
        "        ),\n"
        "    )\n"
    )
    assert fix.after == expected + call.replace(call.splitlines()[-1] + "\n", laid_out)


def test_l1_tables_are_not_rewritten() -> None:
    """CfnTable props are CloudFormation's (deletionProtectionEnabled, no removal policy prop):
    the L2 fixes would write props it does not have."""
    props = Props({"pointInTimeRecovery": True, "deletionProtection": False})
    call = ConstructCall("CfnTable", "Orders", 1, 1, props)
    assert plan_edits(call, {("TS001", None), ("TS002", None), ("TS003", None)}) == []
    assert plan_edits(replace(call, kind="Table"), {("TS002", None), ("TS003", None)})


@pytest.mark.parametrize("name", APPS)
def test_fix_keeps_crlf_and_byte_order_mark(tmp_path: Path, name: str) -> None:
    source = "\ufeff" + (FIXTURES / name).read_text().replace("\n", "\r\n")
    path = tmp_path / name
    path.write_bytes(source.encode())
    [fix], _, _, _ = fix_files([str(path)], Config())
    fix.write(tmp_path)
    expected = "\ufeff" + (FIXTURES / name.replace("app.", "app.fixed.")).read_text().replace("\n", "\r\n")
    assert path.read_bytes() == expected.encode()


def test_lint_without_fix_does_not_import_libcst(tmp_path: Path) -> None:
    returncode, imported = imported_top_modules("lint", FIXTURES / "app.py", cwd=tmp_path)
    assert returncode == 1
    assert "tablesafe" in imported and "libcst" not in imported


@pytest.mark.cdk
def test_fixed_python_app_synthesizes_and_check_agrees(
    fixed: tuple[Path, subprocess.CompletedProcess[str]], run_cli
) -> None:
    """The one synth of this module: aws-cdk-lib accepts every rewritten prop, and the
    synthesized template has TS001-TS004 findings only where lint could not read the value."""
    folder, _ = fixed
    out = folder / "cdk.out"
    subprocess.run(
        [sys.executable, "app.py"],
        cwd=folder,
        env={**os.environ, **JSII_QUIET, "CDK_OUTDIR": str(out)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    result = run_cli("check", out, "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    tables = {
        finding["construct_path"].split("/")[1] for finding in findings if finding["rule_id"] in FIXED_RULES
    }
    assert tables == NOT_LITERAL
    assert not fixable(lint_files([str(folder / "app.py")], Config()))


# --- every combination of literal props -------------------------------------------------------

ABSENT = "absent"
"""The prop is not written (as opposed to written as None / undefined)."""
LAYER = st.fixed_dictionaries(
    {
        "spec": st.sampled_from([ABSENT, None, True, False, "no-enabled"]),
        "deprecated": st.sampled_from([ABSENT, True, False]),
        "protection": st.sampled_from([ABSENT, True, False]),
    }
)
TABLE = st.fixed_dictionaries(
    {
        "layer": LAYER,
        "policy": st.sampled_from([ABSENT, "DESTROY", "SNAPSHOT", "RETAIN"]),
        "replicas": st.none() | st.lists(LAYER, max_size=2),
        "multiline": st.booleans(),
        "trailing_comma": st.booleans(),
    }
)
LANGUAGES = {
    ".py": {
        "spec": "point_in_time_recovery_specification",
        "deprecated": "point_in_time_recovery",
        "protection": "deletion_protection",
        "enabled": "ddb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled={})",
        "no-enabled": "ddb.PointInTimeRecoverySpecification(recovery_period_in_days=35)",
        "entry": "{}={}",
        "values": {True: "True", False: "False", None: "None"},
        "head": "from aws_cdk import RemovalPolicy\n"
        "from aws_cdk import aws_dynamodb as ddb\n\n\ndef build(self, pk):\n",
        "call": '    ddb.{kind}(self, "T{n}", partition_key=pk{sep}{props}{end})\n',
        "replica": 'ddb.ReplicaTableProps(region="r{n}"{props})',
    },
    ".ts": {
        "spec": "pointInTimeRecoverySpecification",
        "deprecated": "pointInTimeRecovery",
        "protection": "deletionProtection",
        "enabled": "{{ pointInTimeRecoveryEnabled: {} }}",
        "no-enabled": "{ recoveryPeriodInDays: 35 }",
        "entry": "{}: {}",
        "values": {True: "true", False: "false", None: "undefined"},
        "head": "import { RemovalPolicy } from 'aws-cdk-lib';\n"
        "import * as ddb from 'aws-cdk-lib/aws-dynamodb';\n\n",
        "call": "new ddb.{kind}(this, 'T{n}', {{ partitionKey: pk{sep}{props}{end} }});\n",
        "replica": "{{ region: 'r{n}'{props} }}",
    },
}


def render_layer(syntax: dict, layer: dict) -> list[str]:
    """The entries a table or replica writes, in the language of syntax."""
    values = syntax["values"]
    specs = {
        None: values[None],
        "no-enabled": syntax["no-enabled"],
        **{flag: syntax["enabled"].format(values[flag]) for flag in (True, False)},
    }
    written = {"spec": specs, "deprecated": values, "protection": values}
    return [
        syntax["entry"].format(syntax[key], shown[layer[key]])
        for key, shown in written.items()
        if layer[key] != ABSENT
    ]


def render_app(suffix: str, tables: list[dict]) -> str:
    """A source file with one Table (or TableV2 with replicas) per description."""
    syntax = LANGUAGES[suffix]
    calls = []
    for n, table in enumerate(tables):
        entries = render_layer(syntax, table["layer"])
        if table["policy"] != ABSENT:
            entries.append(
                syntax["entry"].format(
                    "removal_policy" if suffix == ".py" else "removalPolicy",
                    f"RemovalPolicy.{table['policy']}",
                )
            )
        if table["replicas"] is not None:
            replicas = [
                syntax["replica"].format(n=i, props="".join(", " + e for e in render_layer(syntax, r)))
                for i, r in enumerate(table["replicas"])
            ]
            entries.append(syntax["entry"].format("replicas", f"[{', '.join(replicas)}]"))
        sep = ",\n        " if table["multiline"] else ", "
        end = ("," if table["trailing_comma"] else "") + ("\n    " if table["multiline"] else "")
        calls.append(
            syntax["call"].format(
                kind="TableV2" if table["replicas"] is not None else "Table",
                n=n,
                sep=sep if entries else "",
                props=sep.join(entries),
                end=end,
            )
        )
    return syntax["head"] + "".join(calls)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from(sorted(LANGUAGES)), tables=st.lists(TABLE, min_size=1, max_size=3))
def test_fix_leaves_no_literal_ts001_ts003_ts004_and_a_second_run_changes_nothing(
    tmp_path: Path, suffix: str, tables: list[dict]
) -> None:
    """Literal TS001/TS003/TS004 findings are always fixable (TS002 is not where both PITR
    props are written); the fixed file parses, and the fix is idempotent."""
    path = tmp_path / f"stack{suffix}"
    path.write_text(render_app(suffix, tables))
    for fix in fix_files([str(path)], Config())[0]:
        fix.write(tmp_path)
    report = lint_files([str(path)], Config())
    assert not report.errors, (path.read_text(), report.errors)
    assert not {rule for rule, _, _ in fixable(report)} - {"TS002"}, path.read_text()
    assert fix_files([str(path)], Config())[0] == [], path.read_text()
