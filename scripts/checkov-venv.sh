#!/usr/bin/env bash
# The real checkov CLI in its own venv, .venv-checkov (checkov pins an old boto3): for the
# checkov integration tests and benchmarks/bench_check.py. First run 1-2 min. Prints the
# executable's path: checkov="$(scripts/checkov-venv.sh)". See tool-venv.sh.
#
# Environment: CHECKOV_SPEC (default "checkov>=3.2,<4"), CHECKOV_VENV (default
# <repo>/.venv-checkov), PYTHON.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$repo_root/scripts/tool-venv.sh" checkov "${CHECKOV_SPEC:-checkov>=3.2,<4}" \
    "${CHECKOV_VENV:-$repo_root/.venv-checkov}"
