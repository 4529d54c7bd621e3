"""Bad input through the real CLI: one clear line naming the file, exit 2, and every other
input of the same run still reported."""

from __future__ import annotations

import codecs
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tablesafe.loader import load_paths

RunCli = Callable[..., subprocess.CompletedProcess[str]]

GOOD_TEMPLATE = {
    "Resources": {
        "Orders": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": []}},
    }
}


BAD_INPUTS: dict[str, tuple[bytes, str]] = {
    "empty.json": (b"", "file is empty"),
    "blank.yaml": (b"  \n\n", "file is empty"),
    "invalid.json": (b'{"Resources": {"A": }', "invalid JSON"),
    "invalid.yaml": (b"Resources:\n  A: [unclosed\n", "invalid YAML"),
    "list.json": (b'[{"Resources": {}}]', "top level is a list"),
    "resources-list.yaml": (b"Resources:\n  - Type: AWS::DynamoDB::Table\n", "Resources must be a mapping"),
    "no-resources.json": (b'{"AWSTemplateFormatVersion": "2010-09-09"}', "no Resources section"),
    "no-type.json": (b'{"Resources": {"Orphan": {"Properties": {}}}}', "resource Orphan has no Type"),
    "binary.json": (bytes(range(256)) * 4, "binary file"),
    "latin1.yaml": ("Resources:\n  T: {Type: café}\n".encode("latin-1"), "not UTF-8"),
    "scalar.yaml": (b"just a string\n", "top level is str"),
    "deep.json": (b"[" * 100_000 + b"]" * 100_000, "nest more than 100 levels deep"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_and_exit_2_while_good_input_is_still_checked(
    run_cli: RunCli, tmp_path: Path, name: str
) -> None:
    content, problem = BAD_INPUTS[name]
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    result = run_cli("check", name, "good.json", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 1, result.stderr
    assert error_lines[0].startswith(f"tablesafe: error: {name}: ")
    assert problem in error_lines[0]
    report = json.loads(result.stdout)
    assert [e["path"] for e in report["errors"]] == [name]
    assert {f["logical_id"] for f in report["findings"]} == {"Orders"}


def test_resource_without_type_does_not_hide_the_tables_beside_it(run_cli: RunCli, tmp_path: Path) -> None:
    template = {"Resources": {"Broken": {"Properties": {}}, **GOOD_TEMPLATE["Resources"]}}
    (tmp_path / "t.json").write_text(json.dumps(template))
    result = run_cli("check", "t.json", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["errors"] == [{"path": "t.json", "problem": "resource Broken has no Type", "kind": "input"}]
    assert {f["rule_id"] for f in report["findings"]} == {"TS001", "TS003", "TS004"}


def test_huge_template_is_refused_without_reading_it(run_cli: RunCli, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    result = run_cli("check", "huge.json", "good.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "huge.json: file is 11.0 MB, above the 10 MB limit" in result.stdout
    assert "TS001" in result.stdout


def test_directory_without_templates_and_missing_paths(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "empty-dir" / "package.json").write_text('{"name": "x"}')
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    result = run_cli("check", "empty-dir", "missing.yaml", "good.json", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["errors"] == [
        {
            "path": "empty-dir",
            "problem": "no cloud assembly (manifest.json) or CloudFormation templates here or below",
            "kind": "input",
        },
        {"path": "missing.yaml", "problem": "no such file or directory", "kind": "input"},
    ]
    assert report["summary"]["tables"] == 1
    assert len(result.stderr.strip().splitlines()) == 2


def test_fifo_is_refused_instead_of_blocking(run_cli: RunCli, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    result = run_cli("check", "pipe.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "pipe.json: is not a regular file" in result.stdout


def test_unreadable_file() -> None:
    """Root reads anything: when the tests run as root, a forked child drops to nobody first
    (in a directory of its own, since pytest's temporary root is private to root)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="tablesafe-perm-"))
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(GOOD_TEMPLATE))
    secret.chmod(0o000)
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    for path in (tmp_path, tmp_path / "good.json"):
        path.chmod(0o755)
    codecs.lookup("utf-8-sig")  # the child cannot import codecs from a root-only interpreter
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            loaded = load_paths([str(secret), str(tmp_path / "good.json")])
            payload = json.dumps([[str(e) for e in loaded.errors], [t.logical_id for t in loaded.tables]])
        except Exception as error:
            payload = json.dumps([[repr(error)], []])
        try:
            os.write(write_end, payload.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end) as pipe:
        errors, tables = json.loads(pipe.read())
    shutil.rmtree(tmp_path)
    assert errors == [f"{secret}: cannot be read: Permission denied"]
    assert tables == ["Orders"]


def test_broken_assembly_pieces_name_their_files(run_cli: RunCli, tmp_path: Path) -> None:
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    (assembly / "manifest.json").write_text(
        json.dumps(
            {
                "version": "55.0.0",
                "artifacts": {
                    "Gone": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "Gone.template.json"},
                    },
                    "Ok": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "Ok.template.json"},
                        "additionalMetadataFile": "Ok.metadata.json",
                    },
                    "Stage": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Stage"},
                    },
                },
            }
        )
    )
    (assembly / "Ok.template.json").write_text(json.dumps(GOOD_TEMPLATE))
    (assembly / "Ok.metadata.json").write_text("{not json")
    (assembly / "assembly-Stage").mkdir()
    (assembly / "assembly-Stage" / "manifest.json").write_text("[]")
    result = run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert {(e["path"], e["problem"].split(":")[0]) for e in report["errors"]} == {
        ("cdk.out/Gone.template.json", "no such file or directory"),
        ("cdk.out/assembly-Stage/manifest.json", "not a cloud assembly manifest (no artifacts)"),
        ("cdk.out/Ok.metadata.json", "invalid JSON"),
    }
    assert {f["stack"] for f in report["findings"]} == {"Ok"}


def test_usage_errors_are_one_line_with_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("check", "x.json", "--format", "xml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "invalid choice: 'xml'" in result.stderr
    no_paths = run_cli("lint", cwd=tmp_path)  # `check` without a PATH reads ./cdk.out
    assert no_paths.returncode == 2
    assert "the following arguments are required: PATH" in no_paths.stderr


def test_unwritable_output_is_an_input_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(GOOD_TEMPLATE))
    result = run_cli("check", "good.json", "--output", "no/such/dir/report.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "no/such/dir/report.json: cannot write" in result.stderr
