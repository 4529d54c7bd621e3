"""Walking a folder the user named (`check templates/`, `lint lib/`): one walk for both.

Hidden folders and the folders of dependencies are skipped: they hold none of the app's
templates or CDK code, and `node_modules` alone can hold tens of thousands of files. The
walk is lazy, so a caller that counts what it takes stops it at its own bound, and it keeps
its own stack of folders (os.walk recurses in Python 3.11): a pull request that nests 1,500
folders meets MAX_FOLDER_DEPTH, not Python's recursion limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

DEPENDENCY_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "env", "site-packages"})
MAX_FOLDER_DEPTH = 100
"""Folder levels below the folder named: an app's source or template tree is a dozen deep."""


class FolderProblem(Exception):
    """A folder that cannot be walked as asked, with a one-line reason."""


def walk_files(
    folder: Path,
    *,
    skip: frozenset[str] = DEPENDENCY_FOLDERS,
    claim: Callable[[Path, list[str]], bool] = lambda directory, names: False,
) -> Iterator[str]:
    """The files under folder, relative to it, in sorted order, each folder's files before
    its subfolders' (as os.walk lists them). A folder that claim takes (e.g. a cloud
    assembly, a virtual environment) is neither listed nor descended into; symlinks to
    folders are not followed, and folders that cannot be listed are skipped, as os.walk does.
    Raises FolderProblem at a folder more than MAX_FOLDER_DEPTH levels down."""
    pending: list[tuple[str, int]] = [("", 0)]  # (path relative to folder, depth), last out first
    while pending:
        relative, depth = pending.pop()
        directory = folder / relative if relative else folder
        try:
            with os.scandir(directory) as entries:
                listed = [(entry.name, entry.is_dir(), entry.is_symlink()) for entry in entries]
        except OSError:
            continue
        names = sorted(name for name, is_folder, _ in listed if not is_folder)
        if claim(directory, names):
            continue
        subfolders = sorted(
            name
            for name, is_folder, is_link in listed
            if is_folder and not is_link and name not in skip and not name.startswith(".")
        )
        if subfolders and depth == MAX_FOLDER_DEPTH:
            below = relative.split(os.sep, 1)[0]
            raise FolderProblem(
                f"folders nest more than {MAX_FOLDER_DEPTH} levels deep (below {below}{os.sep}): "
                "name the files, or a folder nearer them"
            )
        yield from (os.path.join(relative, name) if relative else name for name in names)
        pending.extend(
            (os.path.join(relative, name) if relative else name, depth + 1) for name in reversed(subfolders)
        )
