#!/usr/bin/env bash
# The real Prowler CLI in its own venv, .venv-prowler (Prowler pins some 250 packages,
# boto3 among them): for benchmarks/bench_audit.py. First run about 7 min on 2 cores.
# Prints the executable's path: prowler="$(scripts/prowler-venv.sh)". See tool-venv.sh.
#
# Environment: PROWLER_SPEC (default "prowler==5.46.0", the version the figures in
# benchmarks/README.md were measured with), PROWLER_VENV (default <repo>/.venv-prowler), PYTHON.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$repo_root/scripts/tool-venv.sh" prowler "${PROWLER_SPEC:-prowler==5.46.0}" \
    "${PROWLER_VENV:-$repo_root/.venv-prowler}"
