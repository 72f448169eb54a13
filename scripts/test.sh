#!/usr/bin/env bash
# The project's one test command: start the services, lint (Python and shell), type-check, run pytest.
#
#   scripts/test.sh                     everything
#   scripts/test.sh -m "not browser"    extra arguments go to pytest
#
# Builds or refreshes .venv with scripts/setup.sh first. Starts PostgreSQL and SeaweedFS with
# scripts/services.sh and stops them on exit (GREENR_KEEP_SERVICES=1 leaves them running).
# Exits with the status of the first stage that fails.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
STATE="${GREENR_SERVICES_DIR:-$REPO/.greenr/services}"

cd "$REPO"
stage() { printf '\n==> %s\n' "$*"; }

# Idempotent and quick when pyproject.toml has not changed since the last install.
stage "environment (scripts/setup.sh, scripts/serving_setup.sh, scripts/airflow_setup.sh)"
bash "$REPO/scripts/setup.sh"
# The model server's own environment (seldon-core pins): used by serving and deployment tests.
bash "$REPO/scripts/serving_setup.sh"
# Airflow's own environment (.venv-airflow): the DAG tests load and run dags/ with it.
bash "$REPO/scripts/airflow_setup.sh"

stop_services() {
    local status=$?
    trap - EXIT INT TERM
    if [[ "${GREENR_KEEP_SERVICES:-0}" == "1" ]]; then
        stage "services left running (GREENR_KEEP_SERVICES=1): scripts/services.sh stop stops them"
    else
        stage "stopping services"
        bash "$REPO/scripts/services.sh" stop || true
    fi
    exit "$status"
}

stage "starting services (PostgreSQL, SeaweedFS S3)"
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bash "$REPO/scripts/services.sh" start
# shellcheck source=/dev/null
source "$STATE/services.env"

stage "ruff check"
"$VENV/bin/ruff" check .

stage "ruff format --check"
"$VENV/bin/ruff" format --check .

stage "shellcheck"
"$VENV/bin/shellcheck" scripts/*.sh scripts/lib/*.sh .ci/run

stage "mypy (strict)"
"$VENV/bin/mypy" .

stage "pytest $*"
"$VENV/bin/pytest" "$@"

stage "all checks passed"
