"""The optional dependencies (extras) that some commands need, checked before they start.

`tablesafe audit`, `runbook` and `check --baseline deployed` need the `aws` extra, `audit
--demo` the `demo` extra. Each command asks for what it imports before it reads anything,
so a core-only install answers with one line and the install command, whichever module is
missing and in whatever order the command would have imported them. The lists name import
names (markdown-it-py imports as markdown_it; moto[server] brings Flask for moto's server);
a test holds them to pyproject.toml.
"""

from __future__ import annotations

import importlib.util

AWS_CLIENT = ("boto3", "botocore")
"""What a command that only calls AWS imports (runbook, check --baseline deployed)."""
EXTRAS: dict[str, tuple[str, ...]] = {
    "aws": (*AWS_CLIENT, "tqdm", "jinja2", "markdown_it"),
    "demo": (*AWS_CLIENT, "tqdm", "jinja2", "markdown_it", "moto", "werkzeug", "flask", "flask_cors"),
}
"""Extra -> the modules it installs that tablesafe imports."""


def missing_extra(extra: str, modules: tuple[str, ...] | None = None) -> str | None:
    """What to say when modules (default: all of the extra's) are not all installed, e.g.
    "needs the aws extra (boto3, botocore not installed): pip install 'tablesafe[aws]'";
    None when they are."""
    missing = [name for name in modules or EXTRAS[extra] if importlib.util.find_spec(name) is None]
    return install_hint(extra, missing) if missing else None


def install_hint(extra: str, missing: list[str]) -> str:
    return f"needs the {extra} extra ({', '.join(missing)} not installed): pip install 'tablesafe[{extra}]'"


def is_third_party(error: ModuleNotFoundError) -> bool:
    """A module that an extra (or one of its dependencies) should have installed, rather than
    a part of tablesafe itself (which would be a broken install, not a missing extra)."""
    return bool(error.name) and str(error.name).split(".")[0] != "tablesafe"
