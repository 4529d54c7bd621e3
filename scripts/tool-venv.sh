#!/usr/bin/env bash
# Usage: scripts/tool-venv.sh TOOL SPEC VENV
#
# Create (idempotently) the virtual environment VENV with the command-line tool TOOL
# installed from PyPI by the pip requirement SPEC. The anchor tools of the tests and
# benchmarks (checkov, Prowler) pin old or many packages (boto3 among them), so they must
# never be installed into the project's .venv. Prints the path of the executable on its
# last line (and nothing else on stdout), so callers can do: tool="$(scripts/...-venv.sh)".
#
# Re-runs are quiet and fast: once `TOOL --version` has worked, the requirement and the
# version are recorded in a stamp file, and later runs only compare that stamp with the
# installed distribution's metadata (~0.1 s). A venv made by hand is accepted when the
# installed version satisfies SPEC; a broken, half-created or other-version one is rebuilt.
#
# Environment: PYTHON, the interpreter used to create the venv (default: python3, else python).
set -euo pipefail

tool="$1"
spec="$2"
venv="$3"
exe="$venv/bin/$tool"
stamp="$venv/.$tool-ok"
me="$(basename "$0"): $tool"

installed_version() {
    "$venv/bin/python" -c \
        "import importlib.metadata as m; print(m.version('$tool'))" 2>/dev/null
}

# Fastest path: the stamp matches the installed distribution and the spec.
if [ -x "$exe" ] && [ -f "$stamp" ] \
    && [ "$(cat "$stamp")" = "$spec $(installed_version || true)" ]; then
    echo "$exe"
    exit 0
fi

# Fast path: the installed tool satisfies the spec and answers.
if [ -x "$exe" ] && "$venv/bin/python" - "$spec" <<'PY' 2>/dev/null \
    && "$exe" --version >/dev/null 2>&1; then
import importlib.metadata, sys
from packaging.requirements import Requirement
req = Requirement(sys.argv[1])
sys.exit(0 if req.specifier.contains(importlib.metadata.version(req.name), prereleases=True) else 1)
PY
    echo "$spec $(installed_version)" >"$stamp"
    echo "$exe"
    exit 0
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    python="$(command -v python3 || command -v python || true)"
fi
if [ -z "$python" ]; then
    echo "$me: no python3 found (set PYTHON=...)" >&2
    exit 2
fi

start=$(date +%s)
echo "$me: creating $venv with $("$python" --version 2>&1)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
log="$venv/pip-install.log"
# pip's output goes to a log that is shown only when the install fails.
if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
        && "$venv/bin/python" -m pip install --disable-pip-version-check "$spec"; } >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" | tail -n 30 >&2
    echo "$me: pip install of '$spec' failed (full log: $log)" >&2
    exit 1
fi

if ! version="$("$exe" --version 2>/dev/null)"; then
    echo "$me: installed, but '$exe --version' fails" >&2
    exit 1
fi
echo "$spec $(installed_version)" >"$stamp"
echo "$me: $(echo "$version" | head -n 1) installed in $(( $(date +%s) - start )) s" >&2
echo "$exe"
