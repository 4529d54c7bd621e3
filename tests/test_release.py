"""A release a user can pin: one version, the license, a changelog, and a wheel that builds
without deprecation warnings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from conftest import GIT_ENV, git, snapshot_work_tree

from tablesafe import __version__

REPO = Path(__file__).resolve().parent.parent


def test_the_version_lives_in_one_place() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert json.loads((REPO / "packages" / "cdk" / "package.json").read_text())["version"] == __version__
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (REPO / "CHANGELOG.md").read_text(), re.M)
    assert releases[0] == __version__ and releases[-2:] == ["0.2.0", "0.1.0"]


def test_the_license_is_apache_2() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text


def test_a_wheel_of_a_clone_builds_without_deprecation_warnings(tmp_path: Path) -> None:
    """What `pip install .` runs: the build backend's output must hold no deprecation."""
    clone = snapshot_work_tree(tmp_path / "clone", skip=lambda name: name.startswith("packages/"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path / "dist"), str(clone)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    deprecation = re.compile(r"Deprecat\w*Warning|is deprecated")
    assert [line for line in output.splitlines() if deprecation.search(line)] == []
    (wheel,) = (tmp_path / "dist").glob("tablesafe-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"tablesafe-{__version__}.dist-info/METADATA").decode()
        assert f"tablesafe-{__version__}.dist-info/licenses/LICENSE" in archive.namelist()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "\nLicense-Expression: Apache-2.0\n" in metadata
    assert "\nProject-URL: Changelog, " in metadata


def test_the_readme_pins_pre_commit_to_the_release_tag_and_freeze_writes_a_sha(tmp_path: Path) -> None:
    """The README's `rev` is this release's tag, and `pre-commit autoupdate --freeze`, as the
    README says, turns it into a commit SHA of the hook repository."""
    readme = (REPO / "README.md").read_text()
    config = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", readme, re.S)
    assert config, "README.md has no .pre-commit-config.yaml block"
    assert re.search(rf"^\s+rev: v{re.escape(__version__)}\b", config[1], re.M)
    hooks = snapshot_work_tree(tmp_path / "hooks", skip=lambda name: name.startswith("packages/"))
    git(hooks, "tag", f"v{__version__}")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    git(consumer, "init", "-q")
    (consumer / ".pre-commit-config.yaml").write_text(
        config[1].replace("https://github.com/<owner>/tablesafe", str(hooks))
    )
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "autoupdate", "--freeze"],
        cwd=consumer,
        env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sha = git(hooks, "rev-parse", "HEAD")
    assert f"rev: {sha}  # frozen: v{__version__}" in (consumer / ".pre-commit-config.yaml").read_text()
