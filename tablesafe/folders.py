"""Walking a folder the user named (`check templates/`, `lint lib/`): one walk for both.

Hidden folders and the folders of dependencies are skipped: they hold none of the app's
templates or CDK code, and `node_modules` alone can hold tens of thousands of files. The
walk is lazy, so a caller that counts what it takes stops it at its own bound.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

DEPENDENCY_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "env", "site-packages"})


def walk_files(
    folder: Path,
    *,
    skip: frozenset[str] = DEPENDENCY_FOLDERS,
    claim: Callable[[Path, list[str]], bool] = lambda directory, names: False,
) -> Iterator[str]:
    """The files under folder, relative to it, in sorted order. A folder that claim takes
    (e.g. a cloud assembly, a virtual environment) is neither listed nor descended into."""
    for directory, subdirs, names in os.walk(folder):
        relative = os.path.relpath(directory, folder)
        if claim(Path(directory), names):
            subdirs.clear()
            continue
        subdirs[:] = sorted(d for d in subdirs if d not in skip and not d.startswith("."))
        yield from (name if relative == "." else os.path.join(relative, name) for name in sorted(names))
