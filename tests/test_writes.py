"""No write of tablesafe loses a byte of the user's files: `lint --fix`, `lock` and
`--output` write a temporary file and rename it over the original, never over a change
made since the file was read, never through a symlink out of the tree. Each fault runs the
real CLI in a child process, with the fault injected at one point of the write
(tests/write_faults.py) or a real file-size limit."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "fixtures" / "source" / "fix"
SAMPLE = REPO / "fixtures" / "sample-cdk.out"
FAULTS = Path(__file__).resolve().parent / "write_faults.py"


def run(*args: str | Path, cwd: Path, fault: tuple[str, ...] = (), limit: int | None = None):
    """The CLI in a child process (with a fault, or a file-size limit in bytes)."""
    command = [sys.executable, str(FAULTS), *fault, "--"] if fault else [sys.executable, "-m", "tablesafe"]

    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
        preexec_fn=limited,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A CDK source file with fixes to make."""
    path = tmp_path / "app.py"
    shutil.copy(FIX / "app.py", path)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tablesafe-"))


def test_a_file_size_limit_leaves_the_source_whole(app: Path) -> None:
    """Under a file-size limit the fixed (longer) file cannot be written: before, the source
    was cut short and still compiled; now it stays as it was."""
    before = app.read_bytes()
    result = run("lint", "--fix", app, "--format", "json", cwd=app.parent, limit=len(before))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tablesafe: error: {app}: cannot be written (File too large): left as it was"
    ]
    assert app.read_bytes() == before
    assert leftovers(app.parent) == []


@pytest.mark.parametrize("event", ["open", "chmod", "rename"])
def test_ctrl_c_at_any_point_of_the_write_leaves_the_original(app: Path, event: str) -> None:
    before = app.read_bytes()
    result = run("lint", "--fix", app, cwd=app.parent, fault=(event, "sigint"))
    assert result.returncode == 130, result.stderr
    assert result.stderr.splitlines()[-1].startswith("tablesafe: interrupted")
    assert "Traceback" not in result.stderr
    assert app.read_bytes() == before
    assert leftovers(app.parent) == []


@pytest.mark.parametrize("event", ["open", "chmod", "rename"])
def test_ctrl_c_while_locking_keeps_the_previous_lockfile(tmp_path: Path, event: str) -> None:
    assert run("lock", SAMPLE, cwd=tmp_path).returncode == 0
    lock = tmp_path / "tablesafe.lock.json"
    document = json.loads(lock.read_text())
    document["history"] = [{"date": "2026-01-01", "reason": "an earlier migration", "changes": []}]
    lock.write_text(json.dumps(document))
    before = lock.read_bytes()
    result = run("lock", SAMPLE, cwd=tmp_path, fault=(event, "sigint"))
    assert result.returncode == 130
    assert lock.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("event", ["open", "chmod"])
def test_an_edit_saved_during_the_fix_is_kept(app: Path, event: str) -> None:
    result = run("lint", "--fix", app, "--format", "json", cwd=app.parent, fault=(event, "edit", str(app)))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tablesafe: error: {app}: changed since tablesafe read it (an edit saved meanwhile?): not written"
    ]
    assert app.read_text().endswith("# saved in the editor meanwhile\n")
    assert app.read_text().startswith((FIX / "app.py").read_text())
    assert leftovers(app.parent) == []


def test_a_file_replaced_during_the_fix_is_not_overwritten(app: Path) -> None:
    result = run("lint", "--fix", app, "--format", "json", cwd=app.parent, fault=("open", "swap", str(app)))
    assert result.returncode == 2
    assert "changed since tablesafe read it" in result.stderr
    assert app.read_bytes() == (FIX / "app.py").read_bytes()


def test_a_file_that_became_a_fifo_is_refused_without_a_hang(app: Path) -> None:
    result = run("lint", "--fix", app, "--format", "json", cwd=app.parent, fault=("open", "fifo", str(app)))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"tablesafe: error: {app}: changed since tablesafe read it (an edit saved meanwhile?): not written",
        f"tablesafe: error: {app}: is not a regular file",  # the report of what remains
    ]
    assert app.is_fifo()


def test_mode_is_kept(app: Path) -> None:
    app.chmod(0o751)
    assert run("lint", "--fix", app, cwd=app.parent).returncode == 0
    assert app.stat().st_mode & 0o777 == 0o751
    assert app.read_text() == (FIX / "app.fixed.py").read_text()


def test_a_symlink_out_of_the_repository_is_not_written_through(tmp_path: Path) -> None:
    """A committed symlink to a file outside the repository: `lint --fix .` names the real
    file and refuses; a symlink inside writes its target and keeps the link."""
    outside = tmp_path / "outside.py"
    shutil.copy(FIX / "app.py", outside)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "escape.py").symlink_to(outside)
    shutil.copy(FIX / "app.py", repo / "real.py")
    (repo / "inside.py").symlink_to("real.py")
    git(repo, "add", ".")
    result = run("lint", "--fix", ".", "--format", "json", cwd=repo)
    assert result.returncode == 2
    assert f"tablesafe: error: escape.py: is a symlink to {outside}, outside .: not written" in result.stderr
    assert outside.read_bytes() == (FIX / "app.py").read_bytes()
    assert (repo / "inside.py").is_symlink()
    assert (repo / "real.py").read_text() == (FIX / "app.fixed.py").read_text()
    assert f"(through the link inside.py to {repo / 'real.py'})" in result.stderr

    # pre-commit passes the file names, not the folder: the repository bounds them
    shutil.copy(FIX / "app.py", repo / "real.py")
    named = run("lint", "--fix", "escape.py", "inside.py", "--format", "json", cwd=repo)
    assert named.returncode == 2
    assert (
        f"tablesafe: error: escape.py: is a symlink to {outside}, outside {repo}: not written" in named.stderr
    )
    assert outside.read_bytes() == (FIX / "app.py").read_bytes()


def test_output_and_lock_go_through_the_same_writer(tmp_path: Path) -> None:
    """--output replaces a report atomically, keeps its mode, and refuses a FIFO instead of
    blocking on it."""
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    assert run("check", SAMPLE, "--format", "json", "--output", report, cwd=tmp_path).returncode == 1
    assert json.loads(report.read_text())["tool"] == "tablesafe"
    assert report.stat().st_mode & 0o777 == 0o640
    discarded = run("check", SAMPLE, "--format", "json", "--output", "/dev/null", cwd=tmp_path)
    assert discarded.returncode == 1 and Path("/dev/null").is_char_device()  # written to, not replaced
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for args, problem in (
        (("check", SAMPLE, "--output", fifo), "is not a regular file: not written"),
        (("lock", SAMPLE, "--output", fifo), "lockfile is not a regular file"),  # the previous lock
    ):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [f"tablesafe: error: {fifo}: {problem}"]
    assert fifo.is_fifo() and leftovers(tmp_path) == []
