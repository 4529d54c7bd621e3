"""Helpers the benchmarks share: timing a command in a fresh child process, running the
installed tablesafe with compiled bytecode, and printing the results table."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
RUN_TIMEOUT_S = 900
PACKAGE_DIRS = ("tablesafe", "rules", "scanner")
"""The source folders of the tablesafe package (see package-dir in pyproject.toml)."""


class BenchError(Exception):
    """A tool could not be run or gave unusable output."""


@dataclass
class Run:
    """One child process: wall time, peak RSS, exit code, stderr."""

    seconds: float
    max_rss_mb: float
    returncode: int
    stderr: str = ""
    cpu_seconds: float = 0.0
    """User + system CPU time: steadier than wall time on a shared machine."""


@dataclass
class Series:
    """The measured runs of one tool."""

    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        """Wall times of the measured runs."""
        return [r.seconds for r in self.runs]

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(self.times)

    @property
    def peak_rss_mb(self) -> float:
        """Largest peak RSS over the runs."""
        return max(r.max_rss_mb for r in self.runs)


# Runs the command as its own child from a small, fresh interpreter and writes that
# child's wall time, exit code and ru_maxrss to argv[1]. Measuring from this script
# directly would be wrong: subprocess starts children with vfork, and Linux folds the
# parent's peak RSS into the child's ru_maxrss at exec (this script holds the generated
# 10k assembly). The launcher's own ~10 MB is the floor of what it can report.
LAUNCHER = """
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(out, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kib": usage.ru_maxrss,
               "cpu_seconds": usage.ru_utime + usage.ru_stime,
               "returncode": os.waitstatus_to_exitcode(status)}, f)
"""


class RunTimeout(BenchError):
    """The tool did not finish within the time allowed (it was killed)."""


def run_measured(
    cmd: list[str],
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.DEVNULL,
    cwd: Path = REPO,
    timeout: float = RUN_TIMEOUT_S,
) -> Run:
    """Run ``cmd`` once in ``cwd``; its own wall time and peak RSS (Linux ru_maxrss, KiB).
    Raises RunTimeout after ``timeout`` seconds."""
    result_file = OUT / ".run-result.json"
    result_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(result_file), *cmd],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        _, raw_stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the tool under test
        proc.communicate()
        raise RunTimeout(f"{cmd[0]} did not finish in {timeout:g} s") from exc
    stderr = raw_stderr.decode(errors="replace")
    try:
        result = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"could not run {cmd[0]}: {exc}\n{stderr[-2000:]}") from exc
    return Run(
        result["seconds"], result["maxrss_kib"] / 1024.0, result["returncode"], stderr, result["cpu_seconds"]
    )


def tablesafe_command() -> tuple[list[str], dict[str, str]]:
    """The installed console script, else ``python -m tablesafe`` from the repo.

    Bytecode is compiled first and may be cached, as a pip-installed package has it:
    with PYTHONDONTWRITEBYTECODE set (some sandboxes do) every run would recompile the
    package and time the compiler instead of the check.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *[str(REPO / d) for d in PACKAGE_DIRS]],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    script = REPO / ".venv" / "bin" / "tablesafe"
    if script.exists():
        return [str(script)], env
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        raise BenchError(f"no {script} and no {python}: create the project venv first")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return [str(python), "-m", "tablesafe"], env


def venv_tool(script: str, tool: str, first_time: str) -> str:
    """The executable that ``scripts/<script>`` prints after creating the tool's own venv.

    Such a script installs the tool once (``first_time`` says how long that takes) and
    answers in about 0.1 s afterwards; it prints the executable's path on its last line.
    """
    if not (REPO / f".venv-{tool}" / "bin" / tool).exists():
        print(f"{tool}: creating .venv-{tool} with scripts/{script} ({first_time}) ...", flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / script)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(f"scripts/{script} failed:\n{done.stderr}")
    if time.perf_counter() - start > 5:
        print(f"{tool}: venv ready in {time.perf_counter() - start:.0f} s", flush=True)
    return done.stdout.strip().splitlines()[-1]


def check_ts_run(run: Run, what: str) -> None:
    """tablesafe with --fail-on never must exit 0."""
    if run.returncode != 0:
        raise BenchError(f"tablesafe ({what}) exited {run.returncode}:\n{run.stderr[-2000:]}")


def tablesafe_counts(report: Path) -> dict[str, Any]:
    """Tables, findings and findings per rule from tablesafe's JSON report."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        summary = data["summary"]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"cannot read tablesafe's report {report}: {exc}") from exc
    by_rule: dict[str, int] = {}
    for finding in data.get("findings", []):
        by_rule[finding["rule_id"]] = by_rule.get(finding["rule_id"], 0) + 1
    return {
        "tables": summary.get("tables", 0),
        "findings": summary.get("findings", 0),
        "by_rule": dict(sorted(by_rule.items())),
        "errors": data.get("errors", []),
    }


def fmt_series(series: Series) -> str:
    """median (min-max) of a series."""
    return (
        f"{series.median:.3f} s (min {min(series.times):.3f}, max {max(series.times):.3f}, "
        f"n={len(series.times)})"
    )


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def print_table(rows: list[tuple[str, str, str, str]]) -> int:
    """Print (measurement, value, target, status) rows; 1 when a row FAILs, else 0."""
    header = ("measurement", "value", "target", "status")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print()
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 1 if any(r[3] == "FAIL" for r in rows) else 0


def load_test_helper(file_name: str) -> ModuleType:
    """A helper file of tests/ (aws_proxy.py, drill_helpers.py), imported by path: one copy
    of the code the tests and the benchmarks share."""
    spec = importlib.util.spec_from_file_location(
        f"tablesafe_bench_{file_name.removesuffix('.py')}", REPO / "tests" / file_name
    )
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load tests/{file_name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
