#!/usr/bin/env bash
# Create (idempotently) the separate virtual environment .venv-checkov with the real
# checkov CLI from PyPI. checkov pins an old boto3, so it must never be installed into
# the project's .venv. Prints the path of the checkov executable on its last line
# (and nothing else on stdout), so callers can do: checkov="$(scripts/checkov-venv.sh)".
#
# Re-runs are quiet and fast: `checkov --version` takes about 5 s (checkov imports a
# lot), so once it has worked the version is recorded in a stamp file, and later runs
# only compare that stamp with the installed distribution's metadata (~0.1 s).
#
# Environment:
#   PYTHON          interpreter used to create the venv (default: python3, else python)
#   CHECKOV_SPEC    pip requirement for checkov (default: "checkov>=3.2,<4")
#   CHECKOV_VENV    venv location (default: <repo>/.venv-checkov)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CHECKOV_VENV:-$repo_root/.venv-checkov}"
spec="${CHECKOV_SPEC:-checkov>=3.2,<4}"
checkov="$venv/bin/checkov"
stamp="$venv/.checkov-ok"

installed_version() {
    "$venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null
}

# Fastest path: the stamp matches the installed distribution and the spec.
if [ -x "$checkov" ] && [ -f "$stamp" ] \
    && [ "$(cat "$stamp")" = "$spec $(installed_version || true)" ]; then
    echo "$checkov"
    exit 0
fi

# Fast path: checkov already answers (a venv made by hand or by an older run).
if [ -x "$checkov" ] && version="$("$checkov" --version 2>/dev/null)"; then
    echo "$spec $version" >"$stamp"
    echo "$checkov"
    exit 0
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    python="$(command -v python3 || command -v python || true)"
fi
if [ -z "$python" ]; then
    echo "checkov-venv.sh: no python3 found (set PYTHON=...)" >&2
    exit 2
fi

start=$(date +%s)
echo "checkov-venv.sh: creating $venv with $("$python" --version 2>&1) (takes 1-2 min)" >&2
# A broken or half-created venv is rebuilt from scratch.
rm -rf "$venv"
"$python" -m venv "$venv"
log="$venv/pip-install.log"
# pip's output goes to a log that is shown only when the install fails.
if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
        && "$venv/bin/python" -m pip install --disable-pip-version-check "$spec"; } >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" | tail -n 30 >&2
    echo "checkov-venv.sh: pip install of '$spec' failed (full log: $log)" >&2
    exit 1
fi

if ! version="$("$checkov" --version 2>/dev/null)"; then
    echo "checkov-venv.sh: checkov was installed but '$checkov --version' fails" >&2
    exit 1
fi
echo "$spec $version" >"$stamp"
echo "checkov-venv.sh: checkov $version installed in $(( $(date +%s) - start )) s" >&2
echo "$checkov"
