"""The npm package as a TypeScript team meets it: built and installed with the README's
commands on a fresh clone, in a TypeScript CDK app compiled with tsc, synthesized by the real
CDK CLI (`npx aws-cdk@2 synth`, pinned). The gate fails closed: every way tablesafe can fail
to report makes the synth exit 1 with one line naming the cause and the install command.

One app is installed per install route (the tarball; the linked folder with an older
aws-cdk-lib than the package's development copy) and shared by the cases of that route.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import REPO_ROOT, TESTS_DIR, readme_snippet

pytestmark = pytest.mark.cdk

CDK_CLI = "aws-cdk@2.1149.0"
"""The CDK CLI the cases run, pinned (2.x; the 3.x line is a different tool)."""
APP_CDK_LIB = "2.276.0"
"""aws-cdk-lib of the tarball app: the package's development copy, already in npm's cache."""
OLDEST_CDK_LIB = "2.251.0"
"""aws-cdk-lib of the linked-folder app: the oldest the peer range allows, so not the version
of the development copy that the linked folder holds."""
APP_CONSTRUCTS = "10.5.1"
"""constructs of both apps (aws-cdk-lib needs 10.5+): not the development copy's version,
whose Node class TypeScript compares by declaration."""
APP_SOURCES = TESTS_DIR / "data" / "typescript-app"
TIMEOUT = 600
ANSI = re.compile(r"\x1b\[[0-9;]*m")
QUIET_NPM = {"npm_config_audit": "false", "npm_config_fund": "false", "npm_config_update_notifier": "false"}


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"tests/test_cdk_cli.py needs {name} (Node.js 20+ with npm) on PATH"
    return found


def _run(command: list[str] | str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Runs a command that must succeed (a string runs in bash, as a reader pastes it)."""
    argv = ["bash", "-c", command] if isinstance(command, str) else command
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{output[-4000:]}"
    return output


class Checkout:
    """A fresh clone's packages/cdk (the tracked files only), built with the README's commands."""

    def __init__(self, root: Path) -> None:
        listed = _run(["git", "ls-files", "-z", "packages/cdk"], cwd=REPO_ROOT).split("\0")
        for name in filter(None, listed):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
        build, self.tarball_install, self.folder_install = [
            line
            for line in readme_snippet("npm_install", "sh").splitlines()
            if line and not line.startswith("#")
        ]
        self.root = root
        self.package = root / "packages" / "cdk"
        _run(build, cwd=root, env={**os.environ, **QUIET_NPM})

    def install(self, command: str, app: Path) -> str:
        """One of the README's install lines, run in the app with this checkout's path."""
        return _run(
            command.replace("/path/to/tablesafe", shlex.quote(str(self.root))),
            cwd=app,
            env={**os.environ, **QUIET_NPM},
        )


def _make_app(directory: Path, cdk_lib: str, checkout: Checkout, install: str) -> tuple[Path, str]:
    """The TypeScript app with its dependencies pinned, the package installed by one of the
    README's lines, compiled with tsc (the checkout's, with the README's app as a second file)."""
    shutil.copytree(APP_SOURCES, directory)
    package = {
        "name": "typescript-app",
        "private": True,
        "dependencies": {"aws-cdk-lib": cdk_lib, "constructs": APP_CONSTRUCTS},
    }
    (directory / "package.json").write_text(json.dumps(package), encoding="utf-8")
    (directory / "bin" / "readme.ts").write_text(readme_snippet("typescript_app", "ts"), encoding="utf-8")
    output = checkout.install(install, directory)
    tsc = checkout.package / "node_modules" / "typescript" / "bin" / "tsc"
    _run([_tool("node"), str(tsc), "-p", str(directory)], cwd=directory)
    return directory, output


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Checkout:
    return Checkout(tmp_path_factory.mktemp("clone"))


@pytest.fixture(scope="module")
def tarball_app(checkout: Checkout, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return _make_app(
        tmp_path_factory.mktemp("tarball") / "app", APP_CDK_LIB, checkout, checkout.tarball_install
    )


@pytest.fixture(scope="module")
def folder_app(checkout: Checkout, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return _make_app(
        tmp_path_factory.mktemp("folder") / "app", OLDEST_CDK_LIB, checkout, checkout.folder_install
    )


@pytest.fixture(scope="module")
def install_hint(tarball_app: tuple[Path, str]) -> str:
    """The package's INSTALL_HINT, the end of every not-checked line."""
    return _run([_tool("node"), "-p", "require('@tablesafe/cdk').INSTALL_HINT"], cwd=tarball_app[0]).strip()


def _bin(directory: Path, script: str) -> Path:
    """A folder holding a `tablesafe` that runs this shell script."""
    directory.mkdir()
    program = directory / "tablesafe"
    program.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    program.chmod(0o755)
    return directory


def _real_tablesafe(directory: Path) -> Path:
    """This checkout's tablesafe as a `tablesafe` command, which logs each run beside it."""
    log = shlex.quote(str(directory / "runs.log"))
    return _bin(directory, f'echo "$*" >> {log}\nexec {shlex.quote(sys.executable)} -m tablesafe "$@"')


def synth(app: Path, bin_dir: Path, *context: str) -> tuple[int, str]:
    """`npx aws-cdk@2 synth` in the app with bin_dir (and Node's folder, and the system's)
    as PATH: its exit code and its output without colour."""
    path = os.pathsep.join(dict.fromkeys([str(bin_dir), str(Path(_tool("node")).parent), "/usr/bin", "/bin"]))
    env = {
        **os.environ,
        "PATH": path,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
    }
    env.pop("PYTEST_CURRENT_TEST", None)  # aws-cdk-lib would synthesize as under a unit-test runner
    env.pop("PYTEST_VERSION", None)
    arguments = [f"--context={item}" for item in context]
    command = [_tool("npx"), "--yes", CDK_CLI, "synth", "--quiet", "--no-notices", *arguments]
    done = subprocess.run(command, cwd=app, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    return done.returncode, ANSI.sub("", done.stdout + done.stderr)


def _fatal_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FATAL ")]


def test_the_readme_builds_a_tarball_without_install_scripts(
    checkout: Checkout, tarball_app: tuple[Path, str]
) -> None:
    (tarball,) = checkout.package.glob("*.tgz")
    with tarfile.open(tarball) as packed:
        names = sorted(packed.getnames())
        manifest = json.load(packed.extractfile("package/package.json"))  # type: ignore[arg-type]
    assert "package/lib/index.js" in names and "package/lib/index.d.ts" in names
    assert all(
        re.fullmatch(r"package/(lib/\w+\.(js|d\.ts)|README\.md|package\.json)", name) for name in names
    ), names
    assert not {"preinstall", "install", "postinstall", "prepare"} & set(manifest["scripts"])
    assert set(manifest["peerDependencies"]) == {"aws-cdk-lib", "constructs"}
    assert not {"aws-cdk-lib", "constructs"} & set(manifest.get("dependencies", {}))
    assert "install-scripts" not in tarball_app[1]  # npm 11 warns about a package's install script
    assert not (tarball_app[0] / "node_modules" / "@tablesafe" / "cdk").is_symlink()


FAILURES = {
    "fails": (
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo \"ModuleNotFoundError: No module named 'yaml'\" >&2\n"
        "exit 1",
        (),
        "`tablesafe check` exited 1 without a JSON report: \"ModuleNotFoundError: No module named 'yaml'\"",
    ),
    "hangs": (
        f"exec {shutil.which('sleep') or '/bin/sleep'} 600",
        ("timeoutSeconds=2",),
        "`tablesafe check` did not finish within 2 s and was stopped (TableSafetyValidator's timeout)",
    ),
    "prints garbage": (
        r"printf '\033[31m<html>{\n'",
        (),
        '`tablesafe check` exited 0 without a JSON report: "\\x1b[31m<html>{"',
    ),
    "prints null": ("echo null", (), "it is null, not an object"),
    "prints a list": ("echo '[]'", (), "it is a list, not an object"),
    "prints an empty object": ("echo '{}'", (), 'its "tool" is not "tablesafe"'),
    "prints no errors": ("""echo '{"tool": "tablesafe", "findings": []}'""", (), 'it has no "errors"'),
    "prints a bad finding": (
        """echo '{"tool": "tablesafe", "findings": [{"rule_id": "TS001"}], "errors": []}'""",
        (),
        'findings[0] has no "rule"',
    ),
    "kills itself": ("kill -KILL $$", (), "`tablesafe check` was killed by SIGKILL before it reported"),
    "exits 7": (
        "echo 'tablesafe: internal error' >&2; exit 7",
        (),
        '`tablesafe check` exited 7: "tablesafe: internal error"',
    ),
}


@pytest.mark.parametrize("case", FAILURES)
def test_synth_fails_closed(
    case: str, tarball_app: tuple[Path, str], install_hint: str, tmp_path: Path
) -> None:
    script, context, cause = FAILURES[case]
    if not cause.startswith("`tablesafe check`"):
        cause = f"`tablesafe check` printed JSON that is not a tablesafe report: {cause}"
    returncode, output = synth(tarball_app[0], _bin(tmp_path / "bin", script), *context)
    assert returncode == 1, output[-3000:]
    assert _fatal_lines(output) == [f"FATAL {cause}; {install_hint} (tablesafe)"], output[-3000:]
    assert "Rule tablesafe::not-checked" in output


def test_missing_tablesafe_fails_the_synth_as_the_docs_show(
    tarball_app: tuple[Path, str], tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    assert shutil.which("tablesafe", path=f"{Path(_tool('node')).parent}:/usr/bin:/bin") is None
    returncode, output = synth(tarball_app[0], bin_dir)
    documented = (REPO_ROOT / "docs" / "cdk-app.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"^FATAL tablesafe was not found.*$", documented, re.M)
    assert returncode == 1 and _fatal_lines(output) == [example], output[-3000:]


def test_unsafe_table_fails_the_synth_with_the_typescript_fix(
    tarball_app: tuple[Path, str], tmp_path: Path
) -> None:
    returncode, output = synth(tarball_app[0], _real_tablesafe(tmp_path / "bin"))
    assert returncode == 1, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("ERROR ")]
    assert errors == [
        "ERROR [TS001 pitr-missing] Point-in-time recovery is not enabled"
        " (no PointInTimeRecoverySpecification). (tablesafe)",
        "ERROR [TS003 deletion-protection-missing] Deletion protection is not enabled"
        " (DeletionProtectionEnabled is not set). (tablesafe)",
    ]
    assert (
        "   Suggested fix: Enable deletion protection on Shop/Orders.\n"
        "   CDK TypeScript:\n"
        '     // Shop/Orders: set in new dynamodb.Table(this, "Orders", { ... })\n'
        "     deletionProtection: true,\n"
        "   Acknowledge with 'tablesafe::TS003'"
    ) in output
    assert "CDK Python" not in output and "Sessions" not in output  # suppress() held


def test_safe_app_passes_the_synth(tarball_app: tuple[Path, str], tmp_path: Path) -> None:
    bin_dir = _real_tablesafe(tmp_path / "bin")
    returncode, output = synth(tarball_app[0], bin_dir, "safe=true")
    assert returncode == 0, output[-3000:]
    assert "(tablesafe)" not in output
    assert (bin_dir / "runs.log").read_text(encoding="utf-8").startswith("check ")  # it did run


def test_linked_folder_uses_the_apps_older_aws_cdk_lib(
    checkout: Checkout, folder_app: tuple[Path, str], tmp_path: Path
) -> None:
    app = folder_app[0]
    assert (app / "node_modules" / "@tablesafe" / "cdk").is_symlink()
    development_copy = checkout.package / "node_modules" / "aws-cdk-lib" / "package.json"
    assert json.loads(development_copy.read_text())["version"] == APP_CDK_LIB != OLDEST_CDK_LIB
    returncode, output = synth(app, _real_tablesafe(tmp_path / "bin"))
    assert returncode == 1, output[-3000:]
    assert "[TS001 pitr-missing]" in output and "[TS003 deletion-protection-missing]" in output
    assert "Shop/Orders/Resource" in output and "Sessions" not in output  # suppress() on the app's Table
    assert f"Library Version: {OLDEST_CDK_LIB}" in output
    (tmp_path / "none").mkdir()
    returncode, output = synth(app, tmp_path / "none")
    assert returncode == 1 and "tablesafe was not found; install tablesafe" in output, output[-3000:]
