#!/usr/bin/env bash
# Start, stop or show a local Airflow (3.x, .venv-airflow) running the DAGs of dags/.
#
#   scripts/airflow.sh start    build .venv-airflow if needed (scripts/airflow_setup.sh), migrate
#                               its database, start the API server (UI), the scheduler and the
#                               DAG processor, and wait until the UI answers
#   scripts/airflow.sh stop     stop all three
#   scripts/airflow.sh status   show what runs (exit 0 when the UI answers, 3 otherwise)
#
# Everything binds 127.0.0.1: the UI/API on GREENR_AIRFLOW_PORT (default 8090); the scheduler runs
# with --skip-serve-logs (its log server would bind every interface; the UI reads the task logs
# from the local log folder instead). No `airflow standalone`, for the same reason.
# State lives in <GREENR_HOME>/airflow/ (AIRFLOW_HOME; GREENR_HOME as greenr/settings.py resolves it): airflow.db (SQLite),
# logs/, the generated UI password (simple_auth_manager_passwords.json.generated, user admin),
# jwt_secret (shared by the three processes), and <component>.pid/.log/.env.
# The DAGs' tasks run the project's pipelines with .venv/bin/python and this shell's environment
# (GREENR_* settings, the active ZenML stack); GREENR_LANDING_SOURCE sets where the ingestion DAG
# looks for new photos (default <GREENR_HOME>/landing).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/daemon.sh
source "$REPO/scripts/lib/daemon.sh"

VENV="${GREENR_AIRFLOW_VENV:-$REPO/.venv-airflow}"
AIRFLOW="$VENV/bin/airflow"
[[ -x "$REPO/.venv/bin/python" ]] || { echo "airflow: error: $REPO/.venv is missing: run scripts/setup.sh" >&2; exit 1; }
HOME_DIR="$(cd "$REPO" && .venv/bin/python -m greenr.settings_cli home)"
STATE="$HOME_DIR/airflow"
DAEMON_NAME=airflow
GRACE_SECONDS=30
PORT="${GREENR_AIRFLOW_PORT:-8090}"
START_TIMEOUT="${GREENR_AIRFLOW_START_TIMEOUT:-120}"
COMPONENTS=(api-server scheduler dag-processor)

check_port GREENR_AIRFLOW_PORT "$PORT"
check_positive_int GREENR_AIRFLOW_START_TIMEOUT "$START_TIMEOUT"

export AIRFLOW_HOME="$STATE"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export GREENR_REPO="$REPO"

# use COMPONENT: point daemon.sh's variables at one of the three processes.
use() {
    PID_FILE="$STATE/$1.pid"
    LOG_FILE="$STATE/$1.log"
    ENV_FILE="$STATE/$1.env"
    CMDLINE_MARK="airflow $1"
    # The API server renames its process (setproctitle): "airflow api_server -- host:... port:...".
    [[ "$1" == api-server ]] && CMDLINE_MARK="airflow api_server"
    return 0
}

ui_answers() { http_get 127.0.0.1 "$PORT" /api/v2/monitor/health >/dev/null; }

# The API server signs the tokens tasks use to report back; all three processes must share it.
jwt_secret() {
    local file="$STATE/jwt_secret"
    if [[ ! -s "$file" ]]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
    fi
    cat "$file"
}

start() {
    local component running=0
    for component in "${COMPONENTS[@]}"; do
        use "$component"
        [[ -n "$(daemon_pid)" ]] && running=$((running + 1))
    done
    if ((running == ${#COMPONENTS[@]})); then
        say "already running on http://127.0.0.1:$(env_value PORT)"
        return 0
    fi
    ((running == 0)) || die "only part of Airflow runs: run $0 stop first"
    port_open 127.0.0.1 "$PORT" && die "something else already listens on 127.0.0.1:$PORT (set GREENR_AIRFLOW_PORT)"
    bash "$REPO/scripts/airflow_setup.sh"
    mkdir -p "$STATE"
    AIRFLOW__API_AUTH__JWT_SECRET="$(jwt_secret)"
    export AIRFLOW__API_AUTH__JWT_SECRET
    say "migrating the Airflow database ($STATE/airflow.db)"
    "$AIRFLOW" db migrate >"$STATE/migrate.log" 2>&1 || { tail -n 20 "$STATE/migrate.log" >&2; die "airflow db migrate failed"; }

    use api-server
    launch "PORT=$PORT"$'\n' "$AIRFLOW" api-server --host 127.0.0.1 --port "$PORT"
    wait_ready "$START_TIMEOUT" "Error" "http://127.0.0.1:$PORT" ui_answers
    use scheduler
    launch "PORT=$PORT"$'\n' "$AIRFLOW" scheduler --skip-serve-logs
    use dag-processor
    launch "PORT=$PORT"$'\n' "$AIRFLOW" dag-processor
    say "running on http://127.0.0.1:$PORT (user admin, password in $STATE/simple_auth_manager_passwords.json.generated)"
    say "DAGs: greenr_ingestion (every 30 min), greenr_training (new training photos, Mondays 03:00 UTC), greenr_monitoring (daily, waits for the monitoring pipeline)"
}

stop() {
    local component
    for component in "${COMPONENTS[@]}"; do
        use "$component"
        DAEMON_NAME="airflow $component"
        daemon_stop
    done
}

status() {
    local component pid code=0
    for component in "${COMPONENTS[@]}"; do
        use "$component"
        pid="$(daemon_pid)"
        if [[ -n "$pid" ]]; then
            say "$component running (pid $pid)"
        else
            say "$component not running"
            code=3
        fi
    done
    if ui_answers; then
        say "UI and API answer on http://127.0.0.1:$PORT"
    else
        say "nothing answers on http://127.0.0.1:$PORT"
        code=3
    fi
    return "$code"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
