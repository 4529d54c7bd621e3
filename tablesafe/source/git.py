"""The files' previous versions from git, for the replacement rules (TS005, TS006).

At most three git processes per run, whatever the number of files: `rev-parse
--show-toplevel`, one `ls-tree` for the blob ids at the revision (a file whose content
hashes to the same id is unchanged and skipped), and one `cat-file --batch` for the old
versions of the changed files, so a pre-commit run over hundreds of files stays fast.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tablesafe.loader import MAX_INPUT_BYTES

DEFAULT_BASE = "HEAD"


class GitProblem(Exception):
    """An explicit --diff-base that cannot be used (not a repository, no such revision)."""


def run_git(args: Sequence[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """git with args, its output captured; raises OSError when git is not installed."""
    return subprocess.run(["git", *args], input=stdin, capture_output=True, check=False)


def toplevel(folder: Path | None = None) -> Path | None:
    """The root of the git work tree holding folder (default: the working directory), or
    None outside one."""
    try:
        done = run_git([*(["-C", str(folder)] if folder is not None else []), "rev-parse", "--show-toplevel"])
    except OSError:  # git is not installed
        return None
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "surrogateescape").strip()).resolve()


def _read_batch(output: bytes, count: int) -> list[tuple[bytes, bytes] | None]:
    """(type, content) of each object of `git cat-file --batch`, in request order; None for
    a missing one."""
    objects: list[tuple[bytes, bytes] | None] = []
    position = 0
    for _ in range(count):
        end = output.index(b"\n", position)
        header = output[position:end].split()
        position = end + 1
        if len(header) == 3 and header[2].isdigit():
            size = int(header[2])
            objects.append((header[1], output[position : position + size]))
            position += size + 1
        else:  # "<name> missing" or "<name> ambiguous"
            objects.append(None)
    return objects


def _object_id(data: bytes, length: int) -> bytes:
    """The id git gives a blob with this content (SHA-1, or SHA-256 in sha256 repositories)."""
    digest = hashlib.sha1 if length == 40 else hashlib.sha256
    return digest(b"blob %d\0" % len(data) + data).hexdigest().encode()


def previous_versions(texts: Mapping[str, str], rev: str | None) -> dict[str, str | None]:
    """The text at rev (default HEAD) of each file whose content differs from it there;
    None for a file that is not in rev.

    Unchanged files are left out (comparing them finds nothing), and so are files outside
    the repository, or all files when there is no repository or no commit yet: they have
    no baseline, which is not an error unless rev was given explicitly.
    """
    base = rev or DEFAULT_BASE
    top = toplevel()
    if top is None:
        if rev:
            raise GitProblem(f"--diff-base {rev}: the current directory is not in a git repository")
        return {}
    relative: dict[str, str] = {}
    for path in texts:
        try:
            relative[path] = Path(path).resolve().relative_to(top).as_posix()
        except ValueError:
            continue
    listed = run_git(["ls-tree", "-z", "-l", "--full-tree", base, "--", *relative.values()])
    if listed.returncode != 0:
        if rev:
            raise GitProblem(f"--diff-base {rev}: no such revision in this repository")
        return {}  # a repository without commits: everything is new
    blobs: dict[str, bytes] = {}
    for entry in filter(None, listed.stdout.split(b"\0")):
        meta, _, name = entry.partition(b"\t")
        mode, kind, object_id, size = meta.split()
        # not a symbolic link, and within the input size limit (a larger old version is
        # not read: the file then has no baseline, like a new one)
        if kind == b"blob" and mode != b"120000" and int(size) <= MAX_INPUT_BYTES:
            blobs[name.decode("utf-8", "surrogateescape")] = object_id
    previous: dict[str, str | None] = {}
    changed: dict[str, bytes] = {}
    for path, name in relative.items():
        if (object_id := blobs.get(name)) is None:
            previous[path] = None
        elif _object_id(texts[path].encode(), len(object_id)) != object_id:
            changed[path] = object_id
    if not changed:
        return previous
    done = run_git(["cat-file", "--batch"], b"".join(object_id + b"\n" for object_id in changed.values()))
    if done.returncode != 0:
        raise GitProblem(f"git cat-file failed: {done.stderr.decode(errors='replace').strip()}")
    for path, found in zip(changed, _read_batch(done.stdout, len(changed)), strict=True):
        try:
            previous[path] = found[1].decode("utf-8-sig") if found else None
        except UnicodeDecodeError:
            continue  # not text then: nothing to compare with
    return previous
