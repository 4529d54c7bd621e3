"""Turn cloud assemblies and CloudFormation templates into table descriptions.

Every problem with an input becomes an InputError that names the file; the other inputs
of the run are still loaded. Construct paths come from the assembly metadata
(`aws:cdk:logicalId`), not from `aws:cdk:path` in the template, which only the CDK CLI
writes.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tablesafe.describe import describe_fields
from tablesafe.folders import FolderProblem, walk_files
from tablesafe.model import TABLE_TYPES, InputError, LoadResult, Notice, Severity, TableDescription
from tablesafe.neutralize import shell
from tablesafe.remediation import CDK_METADATA_TYPE, app_language
from tablesafe.values import TemplateContext

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""CloudFormation accepts templates of at most 1 MB; ten times that is no template anyone
deploys, and no CDK source file, config or lockfile comes near it."""

MAX_TEMPLATE_RESOURCES = 500
"""CloudFormation's hard limit of resources per template: a bigger one cannot be deployed,
so judging it would only let a pull request make the gate slow (90,000 tables fit in 10 MB)."""

METADATA_FLAG = "@aws-cdk/core:enableAdditionalMetadataCollection"
_TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
_TEMPLATE_HINTS = ("Resources", "AWSTemplateFormatVersion")
_UNKNOWN_ENVIRONMENT = ("unknown-account", "unknown-region")
"""What the manifest's `environment` holds where the app left the account or region open."""
_SCRIPT_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".java", ".cs", ".go"})
"""CDK apps in the other jsii languages: source code too, never a template."""
MAX_NESTING = 100
"""Levels of mappings and lists in a template or lockfile: CloudFormation templates nest a
dozen or two. Whatever later walks a document (intrinsics, comparisons, JSON output) stays
far from Python's recursion limit."""
MAX_NESTED_ASSEMBLIES = 100
"""Levels of stages within stages below the assembly named: CDK apps nest a few."""
MAX_FOLDER_ENTRIES = 20_000
MAX_SIBLINGS = 1_000
"""Names compared with a PATH that does not exist, to suggest the one meant (cdk.ou)."""


class InputProblem(Exception):
    """An input that cannot be used, with a one-line reason."""


# --- reading files ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileVersion:
    """A file as it was read: its bytes, and what tells a later version apart (so a write
    never lands over a change made since: tablesafe.writes)."""

    data: bytes
    size: int
    mtime_ns: int
    inode: tuple[int, int]
    """(device, inode): a file replaced by another under the same name differs here."""


def read_version(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> FileVersion:
    """The content of a regular file of at most max_bytes, with its size, time and identity.

    The file is opened without blocking and checked on the open descriptor, so a FIFO, a
    device (a symlink to /dev/zero) or a file swapped after a check is refused, never
    read, and a file that grows while it is read stops at the limit.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise InputProblem(
                "is a directory, expected a file" if path.is_dir() else "is not a regular file"
            )
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise InputProblem("is not a regular file")
            data = handle.read(max_bytes + 1) if info.st_size <= max_bytes else b""
    except FileNotFoundError:
        raise InputProblem("no such file or directory") from None
    except OSError as error:
        raise InputProblem(f"cannot be read: {error.strerror or error}") from None
    except ValueError:  # a NUL byte in the name
        raise InputProblem("is not a usable file name") from None
    if info.st_size > max_bytes or len(data) > max_bytes:
        size = max(info.st_size, len(data))
        raise InputProblem(f"file is {size / 1_048_576:.1f} MB, above the {max_bytes // 1_048_576} MB limit")
    return FileVersion(data, info.st_size, info.st_mtime_ns, (info.st_dev, info.st_ino))


def read_bytes(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The content of a regular file of at most max_bytes (see read_version)."""
    return read_version(path, max_bytes).data


def read_text(path: Path) -> str:
    """A template, manifest, metadata file, config or lockfile as text (read_bytes' limits)."""
    return decode_text(read_bytes(path))


def decode_text(data: bytes) -> str:
    """A template, manifest, metadata file, config or lockfile's bytes as text."""
    if b"\x00" in data[:8192]:
        raise InputProblem("is a binary file, not a template")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputProblem(f"is not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise InputProblem("file is empty")
    return text


def parse_document(text: str, path: Path, *, json_only: bool = False) -> Any:
    """JSON when the text looks like JSON (faster, clearer errors), YAML otherwise; only
    JSON for the files CDK and tablesafe write (manifest, metadata, lockfile).

    The one parser of every input document: whatever the text holds, the result is a
    value or an InputProblem naming the cause, never another exception.
    """
    try:
        if json_only or text.lstrip()[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                if json_only or path.suffix.lower() == ".json":
                    raise InputProblem(
                        f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
                    ) from None
        return _parse_yaml(text)
    except RecursionError:  # json.loads, at Python's recursion limit (about 1,000 levels)
        raise InputProblem(_TOO_DEEP) from None
    except ValueError as error:  # json.loads: an integer over Python's digit limit (4300)
        if long_number := _LONG_NUMBER.search(text):
            line = text.count("\n", 0, long_number.start()) + 1
            limit = sys.get_int_max_str_digits()
            raise InputProblem(
                f"invalid JSON: an integer of more than {limit} digits at line {line}"
            ) from None
        raise InputProblem(f"invalid JSON: {error}") from None


_LONG_NUMBER = re.compile(rf"[0-9]{{{sys.get_int_max_str_digits() + 1},}}")
_TOO_DEEP = f"mappings and lists nest more than {MAX_NESTING} levels deep"


def check_nesting(document: Any) -> None:
    """Raise InputProblem when a parsed document nests more than MAX_NESTING levels.

    json.loads itself stops only at Python's recursion limit, which leaves a document deep
    enough for a later walk to reach that limit; the YAML loader counts levels as it parses.
    One level at a time, in comprehensions: about 8 ms for 1,000 tables.
    """
    level = [document] if type(document) is dict or type(document) is list else []
    for _ in range(MAX_NESTING):
        level = [
            child
            for value in level
            for child in (value.values() if type(value) is dict else value)
            if type(child) is dict or type(child) is list
        ]
        if not level:
            return
    raise InputProblem(_TOO_DEEP)


def _parse_yaml(text: str) -> Any:
    import yaml

    from tablesafe import cfn_yaml

    try:
        return cfn_yaml.load(text, max_depth=MAX_NESTING)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InputProblem(f"invalid YAML: {error.problem or error.context}{where}") from None
    except yaml.YAMLError as error:
        raise InputProblem(f"invalid YAML: {error}") from None


_RESOURCES_KEY = re.compile(r"""^[ \t]*["']?Resources["']?[ \t]*:""", re.MULTILINE)
_NEXT_KEY = re.compile(r"""^([ \t]*)["']?[A-Za-z0-9]+["']?[ \t]*:""", re.MULTILINE)


def _key_lines(text: str, keys: Iterable[str]) -> dict[str, int]:
    """Line numbers of the resources' logical IDs, for findings and SARIF.

    Only lines indented like the first resource are scanned, which keeps this cheap on
    templates with thousands of property lines.
    """
    wanted = set(keys)
    resources = _RESOURCES_KEY.search(text)
    first = _NEXT_KEY.search(text, resources.end()) if resources else None
    if not wanted or first is None:
        return {}
    indent = re.escape(first.group(1))
    pattern = re.compile(rf"""^{indent}["']?([A-Za-z0-9]+)["']?[ \t]*:""", re.MULTILINE)
    lines: dict[str, int] = {}
    line, position = 1, 0
    for match in pattern.finditer(text, first.start()):
        key = match.group(1)
        if key in wanted and key not in lines:
            line += text.count("\n", position, match.start())
            position = match.start()
            lines[key] = line
            if len(lines) == len(wanted):
                break
    return lines


# --- templates -------------------------------------------------------------------------


@dataclass(slots=True)
class TemplateSource:
    """A template and what the assembly knows about it."""

    path: Path
    display: str
    stack: str | None = None
    construct_paths: Mapping[str, str] = field(default_factory=dict)
    """Logical ID -> construct path (with leading slash), from the assembly metadata."""
    analytics: Mapping[str, Any] | None = None
    """Construct path -> analytics props; None when the app did not collect them."""
    environment: str | None = None
    """The stack's `aws://account/region` from the manifest (deployed baselines use it)."""
    nested: bool = False

    @property
    def account_region(self) -> tuple[str | None, str | None]:
        """(account, region) from the environment; None where the app left it open."""
        parts = (self.environment or "").removeprefix("aws://").split("/")
        if len(parts) != 2:
            return None, None
        account, region = (None if part in _UNKNOWN_ENVIRONMENT else part for part in parts)
        return account, region


def describe_template(source: TemplateSource, result: LoadResult, text: str | None = None) -> None:
    """Load one template (read from source.path unless its text is given) and append its
    tables, or the reason it cannot be read."""
    try:
        text = read_text(source.path) if text is None else text
        template = _checked_template(parse_document(text, source.path))
        check_nesting(template)  # after the resource count, which refuses a 10 MB template sooner
        tables, problems = _describe_resources(template, source, text, result.identity_only)
    except InputProblem as problem:
        result.errors.append(InputError(source.display, str(problem)))
        return
    result.stacks += 1
    result.files.append(source.display)
    result.stack_names.add(source.stack)
    result.tables.extend(tables)
    result.errors.extend(InputError(source.display, problem) for problem in problems)


def _checked_template(document: Any) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        kind = "a list" if isinstance(document, list) else type(document).__name__
        raise InputProblem(f"not a CloudFormation template: the top level is {kind}, not a mapping")
    if "Resources" not in document:
        raise InputProblem("not a CloudFormation template: it has no Resources section")
    if not isinstance(document["Resources"], Mapping):
        raise InputProblem("Resources must be a mapping of logical IDs to resources")
    if len(document["Resources"]) > MAX_TEMPLATE_RESOURCES:
        raise InputProblem(
            f"has {len(document['Resources']):,} resources; CloudFormation accepts at most "
            f"{MAX_TEMPLATE_RESOURCES} in one template (so does `cdk synth`), so it cannot be "
            "deployed and its tables are not judged"
        )
    return document


def _describe_resources(
    template: Mapping[str, Any], source: TemplateSource, text: str, identity_only: bool
) -> tuple[list[TableDescription], list[str]]:
    ctx = TemplateContext.of(template)
    tables: list[TableDescription] = []
    problems: list[str] = []
    found: list[tuple[str, Mapping[str, Any]]] = []
    language: str | None = None
    for logical_id, resource in template["Resources"].items():
        logical_id = str(logical_id)
        if not isinstance(resource, Mapping):
            problems.append(f"resource {logical_id} is not a mapping")
        elif "Type" not in resource:
            problems.append(f"resource {logical_id} has no Type")
        elif not isinstance(resource["Type"], str):
            problems.append(f"resource {logical_id} has a Type that is not a string")
        elif resource["Type"] in TABLE_TYPES:
            found.append((logical_id, resource))
        elif resource["Type"] == CDK_METADATA_TYPE:
            language = app_language(resource)
    lines = {} if identity_only else _key_lines(text, (logical_id for logical_id, _ in found))
    stack_region = source.account_region[1]
    for logical_id, resource in found:
        metadata = resource.get("Metadata")
        path = source.construct_paths.get(logical_id)
        if path is None and isinstance(metadata, Mapping) and isinstance(metadata.get("aws:cdk:path"), str):
            path = "/" + metadata["aws:cdk:path"].lstrip("/")
        identity = {
            "resource_type": resource["Type"],
            "stack": source.stack,
            "logical_id": logical_id,
            "construct_path": path.lstrip("/") if path else None,
            "file": source.display,
            "line": lines.get(logical_id),
            "cdk_props": _cdk_props(path, source.analytics),
            "language": language,
            "stack_region": stack_region,
        }
        described, resource_problems = describe_fields(resource, ctx, identity, identity_only)
        tables.extend(described)
        problems.extend(f"resource {logical_id}: {p}" for p in resource_problems)
    return tables, problems


def _cdk_props(path: str | None, analytics: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The L2 props for a table's L1 path; {} when the app collected analytics but not here."""
    if analytics is None or path is None:
        return None
    owner = path.removesuffix("/Resource")
    props = analytics.get(owner)
    return props if isinstance(props, Mapping) else {}


# --- cloud assemblies ------------------------------------------------------------------


def _stack_metadata(
    directory: Path, artifact: Mapping[str, Any], result: LoadResult, shown: str
) -> dict[str, Any]:
    """Construct path -> metadata entries: inline (older CDK) and the additional file."""
    metadata: dict[str, Any] = {}
    inline = artifact.get("metadata")
    if isinstance(inline, Mapping):
        metadata.update(inline)
    extra = artifact.get("additionalMetadataFile")
    if isinstance(extra, str):
        try:
            path = inside_assembly(directory, extra, "additionalMetadataFile")
            loaded = parse_document(read_text(path), path, json_only=True)
        except InputProblem as problem:
            result.errors.append(InputError(_join(shown, extra), f"{problem}; construct paths are unknown"))
        else:
            if isinstance(loaded, Mapping):
                metadata.update(loaded)
    return metadata


@dataclass(slots=True)
class _StackLayout:
    """What one stack artifact's metadata says about its templates and constructs."""

    roots: dict[str, str] = field(default_factory=dict)
    """Construct path of the stack or nested stack -> its template file."""
    logical_ids: list[tuple[str, str]] = field(default_factory=list)
    analytics: dict[str, Any] = field(default_factory=dict)


def _layout(metadata: Mapping[str, Any]) -> _StackLayout:
    layout = _StackLayout()
    for path, entries in metadata.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            kind, data = entry.get("type"), entry.get("data")
            if kind == "aws:cdk:logicalId" and isinstance(data, str):
                layout.logical_ids.append((path, data))
            elif kind == "aws:cdk:templateFile" and isinstance(data, str):
                layout.roots[path] = data
            elif kind == "aws:cdk:analytics:construct":
                layout.analytics[path] = data
    return layout


class _RootTrie:
    """Stack roots (construct paths of stacks and nested stacks) by path segment, so the
    deepest root above a construct is one walk down its path: comparing every construct
    with every root is quadratic in a metadata file of thousands of nested stacks."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.trie: dict[str | None, Any] = {}
        for root in roots:
            node = self.trie
            for segment in root.split("/"):
                node = node.setdefault(segment, {})
            node[None] = root  # None marks a root; no segment is None

    def deepest_above(self, path: str, default: str) -> str:
        """The longest root r with path.startswith(r + "/"); default when there is none."""
        found, node = default, self.trie
        for segment in path.split("/")[:-1]:
            node = node.get(segment)
            if node is None:
                break
            found = node.get(None, found)
        return found


def _metadata_flag(artifacts: Mapping[str, Any]) -> bool | None:
    """The app's value of the analytics metadata flag, from the manifest's feature-flag report."""
    report = artifacts.get("aws-cdk-lib/feature-flag-report")
    properties = report.get("properties") if isinstance(report, Mapping) else None
    flags = properties.get("flags") if isinstance(properties, Mapping) else None
    flag = flags.get(METADATA_FLAG) if isinstance(flags, Mapping) else None
    value = flag.get("userValue") if isinstance(flag, Mapping) else None
    return value if isinstance(value, bool) else None


def _sources_of_stack(
    directory: Path,
    shown: str,
    artifact_id: str,
    artifact: Mapping[str, Any],
    result: LoadResult,
    metadata_flag: bool | None,
) -> list[TemplateSource]:
    properties = artifact.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    template_file = properties.get("templateFile")
    if not isinstance(template_file, str):
        result.errors.append(
            InputError(_join(shown, "manifest.json"), f"stack {artifact_id} has no templateFile")
        )
        return []
    stack_name = properties.get("stackName") if isinstance(properties.get("stackName"), str) else artifact_id
    layout = _layout(_stack_metadata(directory, artifact, result, shown))
    stack_root = next((p for p, f in layout.roots.items() if f == template_file), None)
    layout.roots.setdefault(stack_root or "", template_file)
    # The deepest stack root that contains a construct owns its logical ID.
    roots = _RootTrie(layout.roots)
    paths_by_file: dict[str, dict[str, str]] = {file: {} for file in layout.roots.values()}
    for path, logical_id in layout.logical_ids:
        paths_by_file[layout.roots[roots.deepest_above(path, stack_root or "")]][logical_id] = path
    # With the flag on, a table without analytics is an L1 that has no props to misuse.
    analytics = layout.analytics if layout.analytics or metadata_flag else None
    sources = []
    for root, file in layout.roots.items():
        nested = root != (stack_root or "") and stack_root is not None
        name = f"{stack_name}{root[len(stack_root) :]}" if nested else stack_name
        environment = artifact.get("environment")
        try:
            path = inside_assembly(
                directory,
                file,
                f"stack {artifact_id}: "
                + ("templateFile" if file == template_file else "aws:cdk:templateFile"),
            )
        except InputProblem as problem:
            result.errors.append(InputError(_join(shown, "manifest.json"), str(problem)))
            continue
        sources.append(
            TemplateSource(
                path,
                _join(shown, file),
                name,
                paths_by_file[file],
                analytics,
                environment if isinstance(environment, str) else None,
                nested,
            )
        )
    return sources


def _join(shown: str, name: str) -> str:
    return os.path.join(shown, name) if shown else name


def load_assembly(directory: Path, shown: str, result: LoadResult, unjudged: list[str]) -> None:
    """Load every stack of a cloud assembly, stages (nested assemblies) included.

    Stacks whose tables TS002 cannot judge (no analytics metadata) are added to unjudged.
    """
    for source in assembly_sources(directory, shown, result):
        before = len(result.tables)
        describe_template(source, result)
        if source.analytics is None and len(result.tables) > before:
            unjudged.append(source.stack or source.display)


def _resolved(path: Path, what: str, name: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        raise InputProblem(f"{what} {name} cannot be resolved (a symlink loop?)") from None
    except ValueError:  # a NUL byte
        raise InputProblem(f"{what} {name} is not a usable file name") from None


def inside_assembly(directory: Path, name: str, what: str) -> Path:
    """directory / name, when it resolves (symlinks followed) inside directory: a manifest
    comes with the pull request, and must not point tablesafe at /etc/passwd."""
    path = directory / name
    if _resolved(path, what, name).is_relative_to(_resolved(directory, what, name)):
        return path
    raise InputProblem(f"{what} {name} resolves outside the assembly directory")


@dataclass(slots=True)
class _OpenAssembly:
    """An assembly being read: its artifacts not read yet, and the templates its stacks claim."""

    directory: Path
    shown: str
    artifacts: Iterator[tuple[Any, Any]]
    metadata_flag: bool | None
    claimed: set[str] = field(default_factory=set)


def _open_assembly(directory: Path, shown: str, result: LoadResult) -> _OpenAssembly | None:
    manifest_shown = _join(shown, "manifest.json")
    try:
        manifest = parse_document(
            read_text(directory / "manifest.json"), directory / "manifest.json", json_only=True
        )
    except InputProblem as problem:
        result.errors.append(InputError(manifest_shown, str(problem)))
        return None
    artifacts = manifest.get("artifacts") if isinstance(manifest, Mapping) else None
    if not isinstance(artifacts, Mapping):
        result.errors.append(InputError(manifest_shown, "not a cloud assembly manifest (no artifacts)"))
        return None
    return _OpenAssembly(directory, shown, iter(artifacts.items()), _metadata_flag(artifacts))


def assembly_sources(directory: Path, shown: str, result: LoadResult) -> list[TemplateSource]:
    """The templates of an assembly (stages included) and what the manifest says of each;
    problems with the manifest go to result.errors.

    Stages are read depth first, in manifest order, with a stack of the assemblies open (no
    recursion): at most MAX_NESTED_ASSEMBLIES deep, each read once. A nested assembly must
    lie below its parent, so a cycle (`.`, two assemblies naming each other) or a repeat is
    one error.
    """
    loaded = {directory.resolve()}
    sources: list[TemplateSource] = []
    root = _open_assembly(directory, shown, result)
    open_assemblies = [root] if root else []
    while open_assemblies:
        current = open_assemblies[-1]
        for artifact_id, artifact in current.artifacts:
            nested = _nested_of(current, str(artifact_id), artifact, len(open_assemblies), loaded, result)
            if nested is not None:
                open_assemblies.append(nested)
                break
            if isinstance(artifact, Mapping) and artifact.get("type") == "aws:cloudformation:stack":
                stack_sources = _sources_of_stack(
                    current.directory,
                    current.shown,
                    str(artifact_id),
                    artifact,
                    result,
                    current.metadata_flag,
                )
                current.claimed.update(source.path.name for source in stack_sources)
                sources.extend(stack_sources)
        else:  # every artifact read
            open_assemblies.pop()
            sources.extend(_unclaimed_nested_templates(current, result))
    return sources


def _nested_of(
    parent: _OpenAssembly, artifact_id: str, artifact: Any, depth: int, loaded: set[Path], result: LoadResult
) -> _OpenAssembly | None:
    """The nested assembly (a stage) an artifact names, opened; None for any other artifact,
    or one that cannot be read (the reason in result.errors). depth: the stage's level below
    the assembly named on the command line (its children are level 1)."""
    if not isinstance(artifact, Mapping) or artifact.get("type") != "cdk:cloud-assembly":
        return None
    properties = artifact.get("properties")
    name = properties.get("directoryName") if isinstance(properties, Mapping) else None
    if not isinstance(name, str):
        return None
    manifest_shown = _join(parent.shown, "manifest.json")
    if depth > MAX_NESTED_ASSEMBLIES:
        result.errors.append(
            InputError(
                manifest_shown,
                f"nested assembly {artifact_id}: stages nest more than {MAX_NESTED_ASSEMBLIES} levels "
                f"deep; directoryName {name} is not read",
            )
        )
        return None
    try:
        directory = _nested_assembly(parent.directory, name, artifact_id, loaded)
    except InputProblem as problem:
        result.errors.append(InputError(manifest_shown, str(problem)))
        return None
    return _open_assembly(directory, _join(parent.shown, name), result)


def _unclaimed_nested_templates(assembly: _OpenAssembly, result: LoadResult) -> list[TemplateSource]:
    """Nested templates the metadata does not name (older CDK versions): still checked."""
    sources = []
    for path in sorted(assembly.directory.glob("*.nested.template.json")):
        if path.name in assembly.claimed:
            continue
        try:
            inside_assembly(assembly.directory, path.name, "nested template")
        except InputProblem as problem:
            result.errors.append(InputError(_join(assembly.shown, path.name), str(problem)))
            continue
        stack = path.name.removesuffix(".nested.template.json")
        sources.append(TemplateSource(path, _join(assembly.shown, path.name), stack, nested=True))
    return sources


def _nested_assembly(directory: Path, name: str, artifact_id: str, loaded: set[Path]) -> Path:
    """The directory of a nested assembly, added to loaded; InputProblem for one that is
    not strictly below its parent (a cycle) or was read already."""
    what = f"nested assembly {artifact_id}: directoryName"
    resolved = _resolved(directory / name, what, name)
    if resolved in loaded:
        raise InputProblem(f"{what} {name} names an assembly that is already read (a cycle)")
    path = inside_assembly(directory, name, what)
    loaded.add(resolved)
    return path


def _metadata_flag_notice(stacks: list[str]) -> Notice:
    return Notice(
        Severity.INFO,
        f"TS002 could not be judged for {', '.join(stacks)}: the app was synthesized without "
        f"the context flag {METADATA_FLAG} (set it to true in cdk.json; new CDK projects do), "
        "so the deprecated pointInTimeRecovery prop is invisible in the output.",
        rule_id="TS002",
    )


# --- entry point -----------------------------------------------------------------------


def _not_a_template(path: Path) -> str | None:
    """Why a PATH that is not a directory cannot be a template, with the next step to take:
    a missing cdk.out (synth first, or a typo), CDK source code (lint it)."""
    from tablesafe.source import SUFFIXES

    if not path.exists() and not path.is_symlink():
        siblings = (
            [p.name for p in itertools.islice(path.parent.iterdir(), MAX_SIBLINGS)]
            if path.parent.is_dir()
            else []
        )
        close = difflib.get_close_matches(path.name, siblings, n=1, cutoff=0.75)
        if close:
            return f"no such file or directory; did you mean {path.with_name(close[0])}?"
        if path.suffix.lower() in _TEMPLATE_SUFFIXES:
            return "no such file or directory"
        return (
            "no such file or directory; for a CDK app, run `cdk synth` first and check the cloud "
            "assembly it writes (cdk.out)"
        )
    if path.suffix.lower() in SUFFIXES | _SCRIPT_SUFFIXES:
        return (
            f"is CDK source code, not a template: use `tablesafe lint {path}` for source files, or "
            "run `cdk synth` and `tablesafe check cdk.out`"
        )
    return None


def _load_template_folder(folder: Path, shown: str, result: LoadResult) -> None:
    """Every template under folder, subfolders included (as checkov -d does); a subfolder
    holding a manifest.json is loaded as a cloud assembly. Bounded by MAX_FOLDER_ENTRIES and
    MAX_FOLDER_DEPTH: past either, the folder is one error and none of it is judged."""
    assemblies: list[Path] = []

    def assembly(directory: Path, names: list[str]) -> bool:
        if "manifest.json" in names:
            assemblies.append(directory)
        return "manifest.json" in names

    templates: list[str] = []
    try:
        for count, relative in enumerate(walk_files(folder, claim=assembly), start=1):
            if count > MAX_FOLDER_ENTRIES:
                raise FolderProblem(
                    f"more than {MAX_FOLDER_ENTRIES} files: name the templates or a smaller folder"
                )
            candidate = folder / relative
            if (
                candidate.suffix.lower() in _TEMPLATE_SUFFIXES
                and candidate.is_file()
                and _looks_like_template(candidate)
            ):
                templates.append(relative)
    except FolderProblem as problem:
        result.errors.append(InputError(shown, str(problem)))
        return
    if not templates and not assemblies:
        problem = "no cloud assembly (manifest.json) or CloudFormation templates here or below"
        if (folder / "cdk.json").is_file():
            problem = (
                f"a CDK app (cdk.json) without a cloud assembly: run `cdk synth` there first, then "
                f"`tablesafe check {shell(os.path.normpath(_join(shown, 'cdk.out')))}`"
            )
        result.errors.append(InputError(shown, problem))
    for directory in assemblies:
        load_assembly(directory, _join(shown, os.path.relpath(directory, folder)), result, [])
    for relative in templates:
        describe_template(TemplateSource(folder / relative, _join(shown, relative)), result)


def _looks_like_template(path: Path) -> bool:
    name = path.name.lower()
    if ".template." in name or name.startswith("template."):
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return any(hint.encode() in head for hint in _TEMPLATE_HINTS)


def load_paths(paths: Iterable[str], *, identity_only: bool = False) -> LoadResult:
    """Load every PATH of the command line: assemblies, template files, template folders
    (identity_only: a baseline, see LoadResult.identity_only)."""
    result = LoadResult(identity_only=identity_only)
    unjudged: list[str] = []
    for shown in paths:
        path = Path(shown)
        app_assembly = path / "cdk.out"
        if path.is_dir() and (path / "manifest.json").is_file():
            load_assembly(path, shown, result, unjudged)
        elif path.name == "manifest.json" and path.is_file():
            load_assembly(path.parent, str(path.parent), result, unjudged)
        elif path.is_dir() and (app_assembly / "manifest.json").is_file():
            assembly_shown = str(Path(shown, "cdk.out"))
            result.notices.append(
                Notice(Severity.INFO, f"{shown} is a CDK app: checked its cloud assembly {assembly_shown}")
            )
            load_assembly(app_assembly, assembly_shown, result, unjudged)
        elif path.is_dir():
            _load_template_folder(path, shown, result)
        elif problem := _not_a_template(path):
            result.errors.append(InputError(shown, problem))
        else:
            describe_template(TemplateSource(path, shown), result)
    if unjudged:
        result.notices.append(_metadata_flag_notice(unjudged))
    return result
