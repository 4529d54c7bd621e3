"""Every remediation tablesafe prints is pasted, as printed, into a real CDK app, which is
then synthesized and checked: the finding is gone and nothing else in the templates changed.

For each language (Python; TypeScript, compiled with `tsc --strict`), tests/pasted_apps.py
writes one app in two versions: v1, as deployed, and v2, the change being checked, with one
unsafe table per rule and shape (see its docstring). Both are synthesized by the real CDK
CLI (`npx aws-cdk@2 synth`, so the templates carry the CDKMetadata that tells `check` the
app's language). Then:

- `tablesafe check v2 --baseline v1` prints each finding's remediation (Markdown: code
  blocks verbatim; the text, SARIF and JUnit reports render the same snippets), and
  `tablesafe lint` (v1 committed in git, for TS005/TS006) prints its own for the `Lint*`
  copy of the shapes; each code block is pasted where its comment says: into v2, or into
  v1 when it is the first step of a migration (`where <call> is still written`), giving
  v1p; v1pr is v1 without the tables that step then removes.
- v1p, v1pr and v2p are synthesized; `check v1p --baseline v1` and `check v1pr --baseline
  v1p` find no replacement, `check v2p --baseline v1pr` finds nothing at all, and each
  template equals its unpasted one minus what the findings name (the property of the
  table or replica, the removal policies, the logical ID a rename keeps).
- The validator (in v2) and the cdk-nag pack (in v1) print the same code as `check` on
  the same templates; so does the audit for the deployed twin of each table (its stack,
  logical ID and construct path, as the audit reads them from the stack; its region from
  its ARN). The npm package's validator prints `check --format json`'s remediation.

The cost: per language, five CDK CLI synths and (TypeScript) two compiler runs, about 35 s
on two cores.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import RunCli, _cli_env, git, install_npm_package, load_helper

pytestmark = pytest.mark.cdk

LABELS = {"python": "CDK Python", "typescript": "CDK TypeScript"}
FIXED = {
    "TS001": ("PointInTimeRecoverySpecification",),
    "TS007": ("PointInTimeRecoverySpecification",),
    "TS003": ("DeletionProtectionEnabled",),
}
"""The property each rule's remediation sets (on the table, or on the failing replica)."""
POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")
CHANGES = ("TS005", "TS006")
RETAINED = {"Swap", "Keys", "Dropped", "Traveller", "LintSwap", "LintKeys"}
"""The tables whose migration (or removal) starts by retaining them in the deployed version."""
AGNOSTIC_REGION = {"Ref": "AWS::Region"}


@dataclass
class Printed:
    """One finding as `--format json` reports it, and its code as `--format markdown` prints it."""

    finding: dict[str, Any]
    code: str

    @property
    def table(self) -> str:
        """The table's construct id (its path's last segment above the L1 `Resource`)."""
        return (self.finding["construct_path"] or "").removesuffix("/Resource").rsplit("/", 1)[-1]

    @property
    def key(self) -> tuple[str, str, str | None]:
        """(rule, construct id, replica region): what tests/pasted_apps.py expects."""
        return self.finding["rule_id"], self.table, self.finding["replica_region"]


@dataclass
class Run:
    """One language's apps, what check and lint printed, and the checks after pasting."""

    language: str
    root: Path
    assemblies: dict[str, Path] = field(default_factory=dict)
    check: list[Printed] = field(default_factory=list)
    lint: list[Printed] = field(default_factory=list)
    pasted: list[tuple[str, str, str]] = field(default_factory=list)
    """(tool, version, construct id) of each block pasted."""
    after: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The JSON reports of the checks after pasting, by name."""


# --- running the real tools ----------------------------------------------------------------


def _tool_env(**extra: str) -> dict[str, str]:
    return {**_cli_env(), "CDK_DISABLE_CLI_TELEMETRY": "true", **extra}


def _synth(directory: Path, app: str, plugin: str | None = None) -> Path:
    """`npx aws-cdk@2 synth` of the app in directory into directory/cdk.out. With a
    validation plugin the synth fails on the findings, after writing the assembly and the
    validation report."""
    npx = shutil.which("npx")
    assert npx, "the pasted-remediation tests need Node.js 20+ and npx on PATH"
    done = subprocess.run(
        [npx, "--yes", "aws-cdk@2", "synth", "--app", app, "--output", "cdk.out", "--quiet", "--no-notices"],
        cwd=directory,
        env=_tool_env(TABLESAFE_PLUGIN=plugin or ""),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = directory / "cdk.out"
    report = out / "validation-report.json"
    if plugin:  # the plugin reported (and failed the synth), after CDK wrote the assembly
        reported = report.is_file() and json.loads(report.read_text())["pluginReports"]
        assert reported, done.stdout[-3000:] + done.stderr[-6000:]
    else:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return out


def _compile(root: Path, versions: list[str]) -> None:
    """`tsc --strict` over the versions' app.ts (one compiler run), into root/js/<version>."""
    tsc = root / "node_modules" / "typescript" / "bin" / "tsc"
    config = {
        "compilerOptions": {
            "target": "ES2022",
            "module": "commonjs",
            "lib": ["ES2022"],
            "strict": True,
            "skipLibCheck": True,
            "types": [],
            "rootDir": ".",
            "outDir": "js",
        },
        "files": [f"{version}/app.ts" for version in versions],
    }
    (root / "tsconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        ["node", str(tsc), "-p", str(root / "tsconfig.json")], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


_DETAILS = re.compile(r"<details><summary>How to fix (TS\d{3}) on .*?</summary>\n\n(.*?)\n\n</details>", re.S)
_BLOCK = re.compile(r"\*\*(?P<label>[^*]+)\*\*\n\n(?P<fence>`{3,})\w*\n(?P<code>.*?)\n(?P=fence)", re.S)


def _printed(run_cli: RunCli, language: str, *args: str | Path, cwd: Path | None = None) -> list[Printed]:
    """The findings of a check or lint run with the code of the language, as printed."""
    reports = {}
    for fmt in ("json", "markdown"):
        done = run_cli(*args, "--format", fmt, cwd=cwd)
        assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr
        reports[fmt] = done.stdout
    findings = [f for f in json.loads(reports["json"])["findings"] if not f["suppressed"]]
    details = _DETAILS.findall(reports["markdown"])
    assert [rule for rule, _ in details] == [f["rule_id"] for f in findings]
    printed = []
    for finding, (_, body) in zip(findings, details, strict=True):
        code = {m["label"]: m["code"] for m in _BLOCK.finditer(body)}
        printed.append(Printed(finding, code.get(LABELS[language], "")))
    return printed


# --- the pipeline ------------------------------------------------------------------------------


def _write(root: Path, version: str, writer: Any, text: str) -> None:
    directory = root / version
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"app{writer.suffix}").write_text(text)


def _synth_versions(run: Run, versions: dict[str, str], plugins: Mapping[str, str] | None = None) -> None:
    if run.language == "typescript":
        _compile(run.root, list(versions))
    for version in versions:
        app = (
            f"{shlex.quote(sys.executable)} app.py"
            if run.language == "python"
            else f"node ../js/{version}/app.js"
        )
        run.assemblies[version] = _synth(run.root / version, app, (plugins or {}).get(version))


def _paste(run: Run, apps: ModuleType, sources: dict[str, Any], tool: str, printed: list[Printed]) -> None:
    """Each block of each printed code where its comment says (v1 or v2)."""
    comment = apps.WRITERS[run.language].comment
    for item in printed:
        assert item.code, f"{tool} printed no {run.language} code for {item.finding}"
        for block in apps.blocks(item.code, comment):
            place = apps.place_of(block.where, run.language)
            sources[place.version].paste(place, block.code, apps.first_segment(block.code, run.language))
            run.pasted.append((tool, place.version, item.table))


def _check(run_cli: RunCli, new: Path, baseline: Path) -> dict[str, Any]:
    done = run_cli("check", new, "--baseline", baseline, "--format", "json")
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr
    return json.loads(done.stdout)


def pipeline(language: str, root: Path, run_cli: RunCli) -> Run:
    apps = load_helper("pasted_apps.py")
    writer = apps.WRITERS[language]
    stacks = apps.app_stacks()
    run = Run(language, root)
    if language == "typescript":  # the npm package's aws-cdk-lib and typescript, for every app
        (root / "node_modules").symlink_to(install_npm_package(), target_is_directory=True)
    texts = {version: writer.app(stacks, version) for version in (apps.V1, apps.V2)}
    for version, text in texts.items():
        _write(root, version, writer, text)
    plugins = {apps.V1: "pack", apps.V2: "validator"} if language == "python" else {}
    _synth_versions(run, texts, plugins)
    v1, v2 = run.assemblies[apps.V1], run.assemblies[apps.V2]
    run.check = _printed(run_cli, language, "check", v2, "--baseline", v1)

    repository = root / "lint"
    repository.mkdir()
    source = repository / f"app{writer.suffix}"
    source.write_text(texts[apps.V1])
    git(repository, "init", "-q", "-b", "main")
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "v1, as deployed")
    source.write_text(texts[apps.V2])
    run.lint = _printed(run_cli, language, "lint", source.name, "--diff-base", "HEAD", cwd=repository)

    sources = {version: apps.Source(text, language) for version, text in texts.items()}
    _paste(run, apps, sources, "check", [p for p in run.check if not p.table.startswith(apps.LINT)])
    _paste(run, apps, sources, "lint", [p for p in run.lint if p.table.startswith(apps.LINT)])
    removed = frozenset(table for _, version, table in run.pasted if version == apps.V1)
    pasted = {
        "v1p": sources[apps.V1].text(),
        "v1pr": writer.app(stacks, apps.V1, drop=removed),
        "v2p": sources[apps.V2].text(),
    }
    for version, text in pasted.items():
        _write(root, version, writer, text)
    _synth_versions(run, pasted)
    run.after = {
        "v1p": _check(run_cli, run.assemblies["v1p"], v1),
        "v1pr": _check(run_cli, run.assemblies["v1pr"], run.assemblies["v1p"]),
        "v2p": _check(run_cli, run.assemblies["v2p"], run.assemblies["v1pr"]),
    }
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Callable[[str], Run]:
    """`runs(language)`: that language's pipeline, run once."""
    done: dict[str, Run] = {}

    def get(language: str) -> Run:
        if language not in done:
            done[language] = pipeline(language, tmp_path_factory.mktemp(f"pasted-{language}"), run_cli)
        return done[language]

    return get


@pytest.fixture(scope="module", params=["python", "typescript"])
def run(request: pytest.FixtureRequest, runs: Callable[[str], Run]) -> Run:
    return runs(request.param)


@pytest.fixture(scope="module")
def apps() -> ModuleType:
    return load_helper("pasted_apps.py")


# --- what must hold ----------------------------------------------------------------------------


def test_each_rule_and_shape_prints_code_that_is_pasted(run: Run, apps: ModuleType) -> None:
    """Every fault of the app is a finding of check (and of lint, for its copy), with code
    in the app's language only, and each block of that code found its place."""
    expected = apps.expected_findings(apps.app_stacks())
    assert {p.key for p in run.check} == expected
    lint_expected = {key for key in expected if key[1].startswith(apps.LINT)}
    lint_found = {(p.finding["rule_id"], p.table) for p in run.lint if p.table.startswith(apps.LINT)}
    assert lint_found == {(rule, table) for rule, table, _ in lint_expected}
    other = "CDK TypeScript" if run.language == "python" else "CDK Python"
    assert all(p.code and other not in p.code for p in run.check)
    assert {table for tool, _, table in run.pasted if tool == "check"} == {
        table for _, table, _ in expected if not table.startswith(apps.LINT)
    }


def test_after_pasting_every_finding_is_gone(run: Run) -> None:
    """The pasted apps synthesize (and compile with tsc --strict); the migration steps
    replace nothing; the pasted new version has no finding left against them."""
    for name in ("v1p", "v1pr"):
        report = run.after[name]
        assert not report["errors"], report["errors"]
        assert not [f for f in report["findings"] if f["rule_id"] in ("TS005", "TS006")], name
    final = run.after["v2p"]
    assert not final["errors"] and final["findings"] == [], final["findings"][:5]


def test_nothing_else_in_the_templates_changed(run: Run) -> None:
    """Each pasted template equals the one it was pasted into, minus what the findings
    name: the property (on the table, or its failing replica), the removal policies, the
    logical ID a rename keeps."""
    v2 = [p.finding for p in run.check]
    renames = {
        p.finding["logical_id"]: kept[1]
        for p in run.check
        if (kept := re.search(r"""(?:override_logical_id|overrideLogicalId)\(['"]([^'"]+)['"]\)""", p.code))
    }
    assert len(renames) == 4, renames  # AuditTrail, Moved, V2Renamed, CfnRenamed
    assert _templates(run.assemblies["v2"], v2, renames) == _templates(run.assemblies["v2p"], v2, {})
    changed = _changed_policies(run.assemblies["v1"], run.assemblies["v1p"])
    assert {logical_id[:-8] for _, logical_id, _ in changed} == RETAINED
    assert {policies for _, _, policies in changed} == {("Retain", "Retain")}
    retained = [
        {"rule_id": "TS004", "stack": s, "logical_id": i, "replica_region": None} for s, i, _ in changed
    ]
    assert _templates(run.assemblies["v1"], retained, {}) == _templates(run.assemblies["v1p"], retained, {})


def test_validator_and_pack_print_what_check_prints(
    runs: Callable[[str], Run], run_cli: RunCli, apps: ModuleType
) -> None:
    """The CDK validator (in v2) and the cdk-nag pack (in v1) of the Python app judge the
    templates CDK just wrote and print each finding's fix: the same code as check on the
    assembly. (The npm package's validator prints `check --format json`'s remediation.)"""
    run = runs("python")
    v1 = _printed(run_cli, "python", "check", run.assemblies[apps.V1])
    for version, printed in ((apps.V2, run.check), (apps.V1, v1)):
        # without a lockfile the plugins compare with nothing: no TS005/TS006
        judged = {_violation_key(p.finding): p.code for p in printed if p.finding["rule_id"] not in CHANGES}
        assert (
            len(judged) > 40 and _report_fixes(run.assemblies[version] / "validation-report.json") == judged
        )


def test_the_audit_prints_what_check_prints(run: Run) -> None:
    """The audit describes a deployed table from its stack (logical ID, construct path from
    the template's aws:cdk:path) and its ARN: its CDK code is the code check prints."""
    from tablesafe.config import Config
    from tablesafe.engine import build_report
    from tablesafe.loader import load_paths
    from tablesafe.model import Source
    from tablesafe.remediation import of_finding

    attribute = "cdk_python" if run.language == "python" else "cdk_typescript"
    printed = {p.key: p.code for p in run.check}
    compared = 0
    for finding in build_report(load_paths([str(run.assemblies["v2"])]), Config()).findings:
        if finding.rule.id not in ("TS001", "TS003", "TS004", "TS007"):
            continue  # TS002 reads the app's props, TS005/TS006 a baseline: no deployed table shows them
        table = finding.table
        region = table.stack_region or "us-west-2"  # a region-agnostic stack deploys somewhere
        live = dataclasses.replace(
            table,
            source=Source.LIVE,
            table_name=f"{table.stack}-{table.logical_id}",
            table_arn=f"arn:aws:dynamodb:{region}:111111111111:table/{table.stack}-{table.logical_id}",
            replica_region=region if table.replica_region == "${AWS::Region}" else table.replica_region,
            file=None,
            line=None,
            language=None,
            stack_region=None,
            cdk_props=None,
        )
        key = (finding.rule.id, table.construct_id, finding.replica_region)
        audit = getattr(of_finding(dataclasses.replace(finding, table=live)), attribute)
        if table.replica_region == "${AWS::Region}":  # deployed, the comment names its region
            audit = audit.replace(f"the replica {region} of", "the replica ${AWS::Region} of", 1)
        assert audit == printed[key], key
        compared += 1
    assert compared >= 40


# --- reading templates and reports ----------------------------------------------------------


def _region(value: Any) -> str:
    return "${AWS::Region}" if value == AGNOSTIC_REGION else str(value)


def _templates(
    assembly: Path, findings: list[Mapping[str, Any]], renames: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Each stack's template without CDKMetadata (its analytics name the props written),
    without what the findings name, with the renamed logical IDs as they were."""
    templates = {}
    for path in sorted(assembly.glob("*.template.json")):
        stack = path.name.removesuffix(".template.json")
        resources = json.loads(path.read_text())["Resources"]
        resources.pop("CDKMetadata", None)
        for finding in findings:
            if finding["stack"] != stack or finding["logical_id"] not in resources:
                continue
            resource = resources[finding["logical_id"]]
            if finding["rule_id"] == "TS004":
                for policy in POLICIES:
                    resource.pop(policy, None)
            for prop in FIXED.get(finding["rule_id"], ()):
                holders = [resource["Properties"]]
                if resource["Type"] == "AWS::DynamoDB::GlobalTable":
                    holders = [
                        replica
                        for replica in resource["Properties"]["Replicas"]
                        if _region(replica["Region"]) == finding["replica_region"]
                    ]
                    assert holders, finding
                for holder in holders:
                    holder.pop(prop, None)
        templates[stack] = {renames.get(logical_id, logical_id): r for logical_id, r in resources.items()}
    return templates


def _changed_policies(old: Path, new: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(stack, logical ID, new policies) of each resource whose removal policies differ."""
    changed = []
    for path in sorted(old.glob("*.template.json")):
        before = json.loads(path.read_text())["Resources"]
        after = json.loads((new / path.name).read_text())["Resources"]
        for logical_id, resource in before.items():
            policies = tuple(after.get(logical_id, {}).get(p) for p in POLICIES)
            if policies != tuple(resource.get(p) for p in POLICIES):
                changed.append((path.name.removesuffix(".template.json"), logical_id, policies))
    return changed


def _violation_key(finding: Mapping[str, Any]) -> tuple[str, str, str | None]:
    return finding["rule_id"], finding["construct_path"], finding["replica_region"]


_REPLICA = re.compile(r"^\[[A-Za-z0-9-]+ [a-z0-9-]+\] Replica (?P<region>\S+): ")


def _report_fixes(report: Path) -> dict[tuple[str, str, str | None], str]:
    """(rule, construct path, replica region) -> the CDK Python code of each violation's fix."""
    fixes = {}
    for plugin in json.loads(report.read_text())["pluginReports"]:
        for violation in plugin["violations"]:
            rule = re.search(r"TS\d{3}", violation["ruleName"])
            replica = re.search(r"\[([^\]]+)\]$", violation["ruleName"]) or _REPLICA.match(
                violation["description"]
            )
            code = re.search(
                r"(?:^|\n\n)CDK Python:\n(.*?)(?:\n\n[A-Za-z ]+:\n|$)", violation["suggestedFix"], re.S
            )
            for construct in violation["violatingConstructs"]:
                key = (
                    rule[0] if rule else "",
                    construct.get("constructPath"),
                    replica[1] if replica else None,
                )
                fixes[key] = code[1] if code else ""
    return fixes
