"""Time and peak memory of the hostile inputs of issue 18, on any checkout of tablesafe.

    .venv/bin/python benchmarks/bench_hostile.py [--repo PATH] [--quick] [--timeout 600]

Runs the CLI of the checkout at --repo (default: this one) on the four cases of the issue's
"Done when", each in a fresh child process (wall time from fork to exit, peak RSS from
wait4), and prints one row per run:

1. 1,500 nested folders: `check DIR`, and `lint DIR` outside a git work tree.
2. Cloud assemblies whose stages nest 400, 800 and 1,000 deep: `check cdk.out`.
3. A 9.99 MB YAML template whose Metadata is a flow sequence `[a, a, ...]`: `check FILE`.
4. `audit --table-timeout 10` of three tables on a local moto server, through the fault
   proxy of tests/aws_proxy.py, which trickles every DescribeTable answer of one table one
   byte every 0.5 s, and, in a second run, every 2 s.

--quick runs small sizes (150 folders; stages 40, 80 and 120 deep; a 1 MB flow sequence;
the trickle with --table-timeout 2) to check that the script works; its figures mean
nothing. The checkout under test is run with this interpreter (it needs boto3 and moto:
use the project's .venv) from a directory of symlinks that maps its package folders as
its pyproject.toml does, so an older checkout needs no venv of its own. A run that does not
end within --timeout seconds is killed and shown as such. Everything is written to a
temporary directory outside any git work tree, removed at the end. Exit status: 0, or 2
when a case cannot be set up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from _common import OUT, REPO, BenchError, RunTimeout, run_measured  # benchmarks/ is sys.path[0]
from bench_audit import load_proxy, machine_load, moto_endpoint, require_aws_libraries, use_fake_credentials

REGION = "us-east-1"
TABLE = {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": []}}
KEY = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}
FULL = {"folders": 1_500, "stages": (400, 800, 1_000), "yaml_mb": 9.99, "table_timeout": 10}
QUICK = {"folders": 150, "stages": (40, 80, 120), "yaml_mb": 1.0, "table_timeout": 2}
Row = tuple[str, str, str, str, str]
"""case, seconds, peak MB, exit code, first line of stderr"""


def package_tree(repo: Path, into: Path) -> Path:
    """A directory that imports as repo's tablesafe package (for PYTHONPATH): symlinks that
    map the folders of pyproject.toml's package-dir (rules/ is tablesafe.rules, ...)."""
    mapping = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-dir"
    ]
    package = into / "tablesafe"
    package.mkdir(parents=True)
    for entry in (repo / mapping["tablesafe"]).iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in mapping.items():
        if name.count(".") == 1:  # tablesafe.rules -> rules/
            (package / name.split(".")[1]).symlink_to(repo / folder)
    return into


def remove_tree(top: Path) -> None:
    """shutil.rmtree without recursion: it recurses in Python 3.11, and fails at 1,500 levels."""
    pending = [(top, False)]
    while pending:
        folder, emptied = pending.pop()
        if emptied:
            folder.rmdir()
            continue
        pending.append((folder, True))
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), False))
                else:
                    os.unlink(entry.path)


def folder_chain(root: Path, depth: int) -> list[Path]:
    """root and root/d/d/.../d, depth folders below it (made one by one: os.makedirs recurses)."""
    root.mkdir()
    folders = [root]
    for _ in range(depth):
        folders.append(folders[-1] / "d")
        folders[-1].mkdir()
    return folders


def deep_folders(work: Path, depth: int) -> str:
    """depth nested folders with a template and a CDK source file at the bottom; their name."""
    bottom = folder_chain(work / "deep", depth)[-1]
    (bottom / "t.template.json").write_text(json.dumps({"Resources": {"T": TABLE}}))
    (bottom / "app.py").write_text(
        "from aws_cdk import aws_dynamodb as ddb\nddb.Table(self, 'T', partition_key=None)\n"
    )
    return "deep"


def stage_chain(work: Path, depth: int) -> str:
    """A cloud assembly whose every assembly has a stack of one table and, but the last, a
    stage; its name."""
    out = work / f"stages-{depth}"
    for level, directory in enumerate(folder_chain(out, depth)):
        artifacts: dict[str, object] = {
            f"S{level}": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "t.template.json"},
            }
        }
        if level < depth:
            artifacts[f"A{level}"] = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "d"}}
        (directory / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}))
        (directory / "t.template.json").write_text(json.dumps({"Resources": {f"T{level}": TABLE}}))
    return out.name


def flow_sequence(work: Path, megabytes: float) -> str:
    """A YAML template of no resources whose Metadata is `[a, a, ...]`, megabytes long; its name."""
    items = int(megabytes * 1_000_000 - 40) // 3
    (work / "flow.yaml").write_text("Resources: {}\nMetadata: [" + "a, " * items + "a]\n")
    return "flow.yaml"


class Bench:
    """Runs one checkout's CLI in its own measured child processes."""

    def __init__(self, repo: Path, work: Path, timeout: float) -> None:
        self.work, self.timeout = work, timeout
        self.env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        self.env["PYTHONPATH"] = str(package_tree(repo, work / "package"))
        self.command = [sys.executable, "-m", "tablesafe"]
        version = run_measured([*self.command, "--version"], self.env, cwd=work)  # compiles too
        if version.returncode != 0:
            raise BenchError(f"cannot run the tablesafe of {repo}:\n{version.stderr[-2000:]}")

    def row(self, case: str, *args: str, env: dict[str, str] | None = None) -> Row:
        """Run tablesafe *args in the work directory: the case, its time, peak memory, exit
        code and first error line (else first line) on stderr."""
        try:
            run = run_measured([*self.command, *args], env or self.env, cwd=self.work, timeout=self.timeout)
        except RunTimeout:
            print(f"{case} | killed after {self.timeout:g} s", flush=True)
            return (case, f"> {self.timeout:g} (killed)", "", "", "")
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        first = next((line for line in lines if "error:" in line), lines[0] if lines else "")
        shown = first if len(first) <= 110 else first[:109] + "…"
        row = (case, f"{run.seconds:.2f}", f"{run.max_rss_mb:.0f}", str(run.returncode), shown)
        print(" | ".join(row), flush=True)  # as it goes: an old checkout takes minutes
        return row


def trickle_rows(bench: Bench, table_timeout: int) -> list[Row]:
    """Audit three tables; the proxy trickles one table's DescribeTable a byte at a time."""
    require_aws_libraries()
    import boto3

    proxy_module = load_proxy()
    env = {**use_fake_credentials(), "PYTHONPATH": bench.env["PYTHONPATH"]}
    rows = []
    with moto_endpoint() as url:
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=url)
        for name in ("alpha", "bravo", "charlie"):
            dynamodb.create_table(TableName=name, **KEY)
        for seconds in (0.5, 2.0):
            with proxy_module.AwsProxy(url) as proxy:
                proxy.faults.append(
                    proxy_module.Fault("DescribeTable", "trickle", table="bravo", seconds=seconds)
                )
                case = f"audit --table-timeout {table_timeout}, a byte every {seconds:g} s"
                output = f"audit-{seconds:g}"
                rows.append(
                    bench.row(
                        case,
                        *(
                            "audit",
                            "--endpoint-url",
                            proxy.url,
                            "--regions",
                            REGION,
                            "--output-dir",
                            str(output),
                        ),
                        *("--table-timeout", str(table_timeout), "--format", "json"),
                        env=env,
                    )
                )
    return rows


def print_rows(rows: list[Row]) -> None:
    header: Row = ("case", "seconds", "peak MB", "exit", "stderr, first line")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    parser.add_argument("--quick", action="store_true", help="small sizes: check that the script runs")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed (600)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tablesafe-bench-hostile-"))
    print(f"tablesafe of {args.repo.resolve()}; {machine_load()}", flush=True)
    try:
        bench = Bench(args.repo.resolve(), work, args.timeout)
        cases: list[tuple[str, Callable[[], list[str]]]] = [
            (
                f"check DIR, {sizes['folders']:,} nested folders",
                lambda: ["check", deep_folders(work, sizes["folders"])],
            ),
            (f"lint DIR, {sizes['folders']:,} nested folders", lambda: ["lint", "deep"]),
            *(
                (
                    f"check, stages {depth:,} deep",
                    lambda depth=depth: ["check", stage_chain(work, depth)],
                )
                for depth in sizes["stages"]
            ),
            (
                f"check, {sizes['yaml_mb']:g} MB YAML flow sequence",
                lambda: ["check", flow_sequence(work, sizes["yaml_mb"])],
            ),
        ]
        rows = [bench.row(case, *arguments(), "--format", "json") for case, arguments in cases]
        rows += trickle_rows(bench, sizes["table_timeout"])
    except BenchError as error:
        print(f"bench_hostile: {error}", file=sys.stderr)
        return 2
    finally:
        remove_tree(work)
    print()
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
