"""Every file tablesafe writes into a user's tree (`lint --fix`, `lock`, `--output`) is
written here, so that no write can lose data.

- Atomic: the bytes go to a temporary file in the same folder, with the original's mode,
  flushed to disk (fsync), then renamed over the original (os.replace: atomic on one file
  system). A full disk, a file-size limit, Ctrl-C or a crash at any point leaves the
  original as it was and no temporary file behind; the temporary file has a short name,
  so a 255-character file name still has room for it.
- Never over a change: a file that was read first (lint --fix, the previous lockfile) is
  only replaced while it is still the version read (size, modification time, identity and
  content), so an edit saved meanwhile, or a file replaced by another or by a FIFO, is
  kept and the write is refused in one line.
- Never through a link out: a symlink is not replaced by a file; its target is written,
  and only when it lies inside the root the caller names (the folder given, or the
  repository); the messages name the real file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from tablesafe.loader import FileVersion, InputProblem, read_version


class WriteRefused(Exception):
    """A file tablesafe will not write, with the one-line reason (after its name)."""


def _target(path: Path, root: Path | None) -> Path:
    """The file a write to path lands in: path itself, or a symlink's target inside root."""
    if not path.is_symlink():
        return path
    real = path.resolve()
    if root is not None and not real.is_relative_to(root.resolve()):
        raise WriteRefused(f"is a symlink to {real}, outside {root}: not written")
    return real


def _unchanged(target: Path, expected: FileVersion) -> None:
    """Raise WriteRefused unless target is still the version read: the same bytes, size,
    modification time and file (read_version refuses a FIFO or device without blocking)."""
    try:
        current = read_version(target)
    except InputProblem:
        current = None
    if current != expected:
        raise WriteRefused("changed since tablesafe read it (an edit saved meanwhile?): not written")


def _mode(target: Path) -> int | None:
    """The mode to keep; None for a new file; WriteRefused for anything but a regular file
    (a character device is written in place by write_file: it is no file to replace)."""
    try:
        info = target.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise WriteRefused(f"cannot be written: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteRefused("is not a regular file: not written")
    return stat.S_IMODE(info.st_mode)


def _device(target: Path) -> bool:
    """A character device (`--output /dev/null`, a terminal): written to, never replaced
    (renaming a file over /dev/null would replace the device). A FIFO stays refused: opening
    it for writing waits for a reader."""
    try:
        return stat.S_ISCHR(target.stat().st_mode)
    except OSError:
        return False


def _new_file_mode() -> int:
    """What open() would give a new file: 0o666 less the umask (mkstemp gives 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_file(
    path: str | Path, data: bytes, *, expected: FileVersion | None = None, root: Path | None = None
) -> Path:
    """Replace (or create) path with data atomically; the real path written.

    expected: the version read before, which the file must still be. root: a symlink's
    target must lie inside it. Raises WriteRefused with the reason; an OSError of the
    write itself (a full disk, a file-size limit) leaves the original intact."""
    target = _target(Path(path), root)
    if expected is None and _device(target):
        with open(target, "wb") as device:
            device.write(data)
        return target
    mode = _mode(target)
    if expected is not None:
        if mode is None:
            raise WriteRefused("was removed since tablesafe read it: not written")
        _unchanged(target, expected)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tablesafe-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), _new_file_mode() if mode is None else mode)
            os.fsync(handle.fileno())
        if expected is not None:
            _unchanged(target, expected)  # once more, as late as it can be
        os.replace(temporary, target)
    except BaseException:  # Ctrl-C included: the original stays, the temporary file goes
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(target.parent)
    return target


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
