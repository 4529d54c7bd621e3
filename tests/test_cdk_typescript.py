"""The npm package (packages/cdk): its own tests, run with Node's test runner, from pytest so
that `make test` (and CI) runs them. They synthesize a real TypeScript-style CDK app with
aws-cdk-lib from the npm registry and run this checkout's tablesafe on it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "packages" / "cdk"

pytestmark = pytest.mark.cdk


def _npm() -> str:
    npm = shutil.which("npm")
    assert npm, "the TypeScript package's tests need Node.js 20+ and npm on PATH"
    return npm


def _install(npm: str) -> None:
    """`npm ci` on a fresh clone, or when package-lock.json changed since the last install."""
    installed = PACKAGE / "node_modules" / ".package-lock.json"
    lock = PACKAGE / "package-lock.json"
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=PACKAGE, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_typescript_package() -> None:
    npm = _npm()
    _install(npm)
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
        "TABLESAFE_COMMAND": json.dumps([sys.executable, "-m", "tablesafe"]),
    }
    done = subprocess.run([npm, "test"], cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    passed = re.search(r"^# pass (\d+)$", output, re.M)
    assert passed and int(passed[1]) >= 5 and "# fail 0" in output, output[-3000:]
