"""Folders given to `tablesafe lint` become the CDK source files under them.

In a git work tree, git itself lists the files (tracked and new, minus what `.gitignore`
ignores), so the walk agrees with what a commit would hold; elsewhere the folder is walked.
Either way dependencies, build output and virtual environments are skipped: they hold no
table of this app, and node_modules alone can hold tens of thousands of files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tablesafe.folders import DEPENDENCY_FOLDERS, FolderProblem, walk_files
from tablesafe.source import SUFFIXES
from tablesafe.source.git import run_git

SKIPPED_FOLDERS = DEPENDENCY_FOLDERS | {"cdk.out"}
"""Folders that never hold the app's own CDK code (hidden folders are skipped too)."""
MAX_FILES = 20_000


def _wanted(relative: str) -> bool:
    parts = Path(relative).parts
    if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in parts[:-1]):
        return False
    name = parts[-1]
    return Path(name).suffix in SUFFIXES and not name.endswith(".d.ts")


def _git_listing(folder: Path) -> list[str] | None:
    """The files under folder that git would commit (relative), or None outside a work tree."""
    try:
        done = run_git(["-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    except OSError:  # git is not installed
        return None
    if done.returncode != 0:
        return None
    return [name for name in done.stdout.decode("utf-8", "surrogateescape").split("\0") if name]


def _virtual_environment(directory: Path, names: list[str]) -> bool:
    return "pyvenv.cfg" in names  # whatever the folder's name


def folder_sources(folder: Path, shown: str) -> list[str]:
    """The CDK source files under folder, as paths starting with shown; raises FolderProblem."""
    listing = _git_listing(folder)
    names = (
        listing
        if listing is not None
        else walk_files(folder, skip=SKIPPED_FOLDERS, claim=_virtual_environment)
    )
    found: list[str] = []
    for count, relative in enumerate(names, start=1):
        if count > MAX_FILES:
            raise FolderProblem(f"more than {MAX_FILES} files: name the source files or a smaller folder")
        if _wanted(relative) and (folder / relative).is_file():
            found.append(os.path.normpath(os.path.join(shown, relative)))
    if not found:
        raise FolderProblem(f"no CDK source files ({', '.join(sorted(SUFFIXES))}) here or below")
    return sorted(found)


def expand_folders(paths: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """paths with every folder replaced by its source files, and (folder, problem) pairs."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    for path in paths:
        if not Path(path).is_dir():
            files.append(path)
            continue
        try:
            files.extend(folder_sources(Path(path), path))
        except FolderProblem as problem:
            problems.append((path, str(problem)))
    return list(dict.fromkeys(files)), problems
