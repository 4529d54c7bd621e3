"""The project's own line length and indentation, so that what --fix writes is what the
project's formatter would keep: ruff's `line-length` for Python (`ruff.toml`,
`.ruff.toml`, `[tool.ruff]` of `pyproject.toml`), prettier's `printWidth`, `tabWidth` and
`useTabs` for TypeScript (`.prettierrc`, `.prettierrc.json`, `.prettierrc.yaml`/`.yml`,
`"prettier"` in `package.json`), from the file's folder upwards to the repository root (a
folder holding `.git`). Without one, 100 columns; a value that is not a positive integer
is ignored (the files are the project's, but read as untrusted input: bounded in size,
never executed: `.prettierrc.js` and `prettier.config.*` are not read).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_LINE_LENGTH = 100
MAX_COLUMNS = 1000
_PRETTIER_FILES = (".prettierrc", ".prettierrc.json", ".prettierrc.yaml", ".prettierrc.yml")


@dataclass(frozen=True, slots=True)
class Style:
    line_length: int = DEFAULT_LINE_LENGTH
    indent: str | None = None
    """One level of indentation, when the project's formatter says; None: as the file has it."""


def _columns(value: Any) -> int | None:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_COLUMNS else None
    )


def _read(path: Path) -> str | None:
    from tablesafe.loader import InputProblem, read_text

    try:
        return read_text(path) if path.is_file() else None
    except InputProblem:
        return None


def _ruff(folder: Path) -> Style | None:
    for name, section in (("ruff.toml", ()), (".ruff.toml", ()), ("pyproject.toml", ("tool", "ruff"))):
        text = _read(folder / name)
        if text is None:
            continue
        try:
            settings: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        for key in section:
            settings = settings.get(key) if isinstance(settings, dict) else None
        if isinstance(settings, dict):
            return Style(_columns(settings.get("line-length")) or DEFAULT_LINE_LENGTH)
    return None


def _prettier(folder: Path) -> Style | None:
    settings: Any = None
    for name in _PRETTIER_FILES:
        if (text := _read(folder / name)) is not None:
            settings = _parse(text)
            break
    else:
        if (text := _read(folder / "package.json")) is not None:
            package = _parse(text)
            settings = package.get("prettier") if isinstance(package, dict) else None
    if not isinstance(settings, dict):
        return None
    width = _columns(settings.get("tabWidth"))
    indent = "\t" if settings.get("useTabs") is True else " " * width if width and width <= 16 else None
    return Style(_columns(settings.get("printWidth")) or DEFAULT_LINE_LENGTH, indent)


def _parse(text: str) -> Any:
    """JSON, else YAML (a .prettierrc may be either)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    from tablesafe import cfn_yaml

    try:
        return cfn_yaml.load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


@cache
def _style(folder: Path, python: bool) -> Style:
    """The settings of the nearest configuration at or above folder (a loop: a folder can
    be thousands of levels deep)."""
    for above in (folder, *folder.parents):
        if (found := (_ruff if python else _prettier)(above)) is not None:
            return found
        if (above / ".git").exists():
            break
    return Style()


def style_for(path: str, *, python: bool) -> Style:
    """The formatter settings that apply to the source file at path."""
    return _style(Path(path).resolve().parent, python)
