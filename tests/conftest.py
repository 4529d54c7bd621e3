"""Shared fixtures.

``cdk_assemblies`` synthesizes the real CDK apps of ``tests/cdk_apps.py`` once per test
session, in this process (loading aws-cdk-lib through jsii costs many seconds per
process), and tests that use it carry the ``cdk`` marker (``pytest -m cdk``).
``run_cli`` runs ``python -m tablesafe`` in a subprocess.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
JSII_QUIET = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1"}

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cdk: synthesizes real CDK apps in-process (aws-cdk-lib, Node); select with -m cdk",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cdk_assemblies" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cdk)


def load_helper(filename: str) -> ModuleType:
    """Import a helper file of tests/ by path, whatever pytest's import mode."""
    name = "tablesafe_test_" + filename.removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TESTS_DIR / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


DOC_FILES = (REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")))
"""The user documentation: the README and the reference pages it links to."""


def docs_text() -> str:
    """Every documentation page, one after the other (for examples the tests hold true)."""
    return "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)


def readme_snippet(name: str, language: str = "python") -> str:
    """The block (python, sh, ts) after ``<!-- snippet: NAME -->`` in the README or a docs/
    page: the tests run it verbatim. Each name is used once."""
    matches = re.findall(rf"<!-- snippet: {name} -->\n```{language}\n(.*?)```", docs_text(), re.S)
    assert len(matches) == 1, f"{len(matches)} snippets named {name!r} in the documentation"
    return matches[0]


@pytest.fixture(scope="session")
def test_helper() -> Callable[[str], ModuleType]:
    """``test_helper("cdk_aspect_apps.py")`` imports that helper file of tests/."""
    return load_helper


@pytest.fixture(scope="session")
def cdk_assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """App name -> its synthesized ``cdk.out`` directory; every app is synthesized once."""
    os.environ.update(JSII_QUIET)
    cdk_apps = load_helper("cdk_apps.py")
    return cdk_apps.synth_all(tmp_path_factory.mktemp("cdk-apps"))


def _cli_env() -> dict[str, str]:
    """The environment for the subprocess: a non-installed tablesafe is found where this
    process finds it (or in the work tree), whatever the subprocess's cwd."""
    env = {**os.environ, **JSII_QUIET}
    try:
        importlib.metadata.distribution("tablesafe")
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec("tablesafe")
        root = Path(spec.origin).parent.parent if spec and spec.origin else REPO_ROOT
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture(scope="session")
def run_cli(tmp_path_factory: pytest.TempPathFactory) -> RunCli:
    """``run_cli(*args, cwd=None, env=None)`` runs ``python -m tablesafe *args`` and returns
    the CompletedProcess (text stdout/stderr). ``cwd`` defaults to an empty temporary
    directory, so no ``.tablesafe.yaml`` of the work tree applies; ``env`` adds variables."""
    default_cwd = tmp_path_factory.mktemp("cli-cwd")
    base_env = _cli_env()

    def run(
        *args: str | os.PathLike[str],
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ):
        return subprocess.run(
            [sys.executable, "-m", "tablesafe", *map(str, args)],
            cwd=cwd if cwd is not None else default_cwd,
            env={**base_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def imported_top_modules(*args: str | os.PathLike[str], cwd: Path | None = None) -> tuple[int, set[str]]:
    """Run `python -X importtime -m tablesafe ARGS`: its exit code and the top-level
    packages it imported (to keep the fast paths lean)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tablesafe", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=_cli_env(),
    )
    imported = {
        line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line
    }
    return result.returncode, imported


NPM_PACKAGE = REPO_ROOT / "packages" / "cdk"
"""The npm package; its node_modules (aws-cdk-lib, constructs, typescript) also serve the
TypeScript apps the tests write."""


def npm_command() -> str:
    npm = shutil.which("npm")
    assert npm, "the TypeScript tests need Node.js 20+ and npm on PATH"
    return npm


def install_npm_package() -> Path:
    """The npm package's node_modules: `npm ci` on a fresh clone, or when package-lock.json
    changed since the last install."""
    modules = NPM_PACKAGE / "node_modules"
    installed = modules / ".package-lock.json"
    if (
        installed.is_file()
        and installed.stat().st_mtime >= (NPM_PACKAGE / "package-lock.json").stat().st_mtime
    ):
        return modules
    done = subprocess.run(
        [npm_command(), "ci", "--no-audit", "--no-fund"],
        cwd=NPM_PACKAGE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return modules


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
"""git in temporary repositories: a fixed identity, no user or system configuration."""


def git(cwd: Path, *args: str) -> str:
    """Run git in cwd with GIT_ENV; its stdout, stripped."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True, text=True
    ).stdout.strip()


def repository_files() -> list[str]:
    """The work tree's files: tracked and new, not ignored (what a commit would hold)."""
    return [
        name
        for name in git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
        if name
    ]


def snapshot_work_tree(target: Path, skip: Callable[[str], bool] = lambda name: False) -> Path:
    """The work tree as it is on disk (minus the names skip accepts), committed into a
    fresh repository at target: what a clone or `pre-commit try-repo` sees."""
    for name in repository_files():
        source = REPO_ROOT / name
        if source.is_file() and not skip(name):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return target


@pytest.fixture(scope="session")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with tablesafe and its core dependencies only, as `pip install
    tablesafe` leaves it (no extra): built once per session from a snapshot of the work tree
    (pip builds in the source folder; the work tree is left as it is). Returns its bin/."""
    root = tmp_path_factory.mktemp("core-venv")
    source = snapshot_work_tree(
        root / "source",
        skip=lambda name: name.startswith(("tests/", "packages/", "fixtures/", "benchmarks/")),
    )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", source],
        check=True,
        timeout=600,
    )
    return venv / "bin"


FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real moto server on 127.0.0.1 (HTTP, a free port) for the session; yields its URL.

    The fake credentials are set in this process too, so boto3 never finds real ones.
    Tests that need a clean account call ``reset_moto(url)``.
    """
    from moto.server import ThreadedMotoServer

    os.environ.update(FAKE_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxy(moto_server: str) -> Iterator[Any]:
    """tests/aws_proxy.py in front of the moto server, one per test module: it records every
    call and injects faults (reset by the `aws` fixture)."""
    with load_helper("aws_proxy.py").AwsProxy(moto_server) as running:
        yield running


@pytest.fixture
def aws(moto_server: str, proxy: Any) -> Any:
    """A clean moto account behind a clean proxy; returns the proxy (seed through moto_server)."""
    reset_moto(moto_server)
    proxy.reset()
    return proxy


def reset_moto(url: str) -> None:
    """Forget every resource of the moto server (its documented reset endpoint)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


@pytest.fixture(scope="session")
def cdk_node_modules() -> Path:
    """packages/cdk/node_modules (aws-cdk-lib, constructs and TypeScript from the npm
    registry), installed once per session."""
    return install_npm_package()
