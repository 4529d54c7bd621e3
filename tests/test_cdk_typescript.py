"""The npm package (packages/cdk): its own tests, run with Node's test runner, from pytest so
that `make test` (and CI) runs them. They synthesize a real TypeScript-style CDK app with
aws-cdk-lib from the npm registry and run this checkout's tablesafe on it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import NPM_PACKAGE as PACKAGE
from conftest import install_npm_package, npm_command

pytestmark = pytest.mark.cdk


def test_typescript_package() -> None:
    npm = npm_command()
    install_npm_package()
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
