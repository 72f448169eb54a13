#!/usr/bin/env bash
# Start, stop or show the prediction API (python -m greenr.api: FastAPI under uvicorn, .venv).
#
#   scripts/api_server.sh start    start it (idempotent) and wait until GET /health answers
#   scripts/api_server.sh stop     stop it (uvicorn writes the last whylogs profile on the way out)
#                                  and wait until every process it started is gone
#   scripts/api_server.sh status   show what runs and its /health (exit 0 when it answers, 3 otherwise)
#
# It listens on GREENR_API_HOST:GREENR_API_PORT (127.0.0.1:8000 by default) and talks to the model
# server at GREENR_MODEL_SERVER_URL (http://127.0.0.1:$GREENR_MODEL_SERVER_PORT, 9000); the other
# settings are those of greenr/settings.py (GREENR_DATABASE_URL, GREENR_LAKE_URI, GREENR_MAX_*...).
# State lives in ${GREENR_HOME:-<repo>/.greenr}/api/:
#   server.pid     pid of the uvicorn process (also its process group: it runs under setsid)
#   server.log     the API's JSON log lines
#   server.env     port of the running API
# GREENR_API_START_TIMEOUT (seconds, default 60) bounds the wait at start.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/daemon.sh
source "$REPO/scripts/lib/daemon.sh"

PYTHON="$REPO/.venv/bin/python"
STATE="$(realpath -m "${GREENR_HOME:-$REPO/.greenr}/api")"
DAEMON_NAME=api-server
PID_FILE="$STATE/server.pid"
LOG_FILE="$STATE/server.log"
ENV_FILE="$STATE/server.env"
CMDLINE_MARK="-m greenr.api"
# uvicorn finishes the requests in flight (up to 10 s), then runs the lifespan shutdown (last
# whylogs profile, connections closed).
GRACE_SECONDS=30
PORT="${GREENR_API_PORT:-8000}"
START_TIMEOUT="${GREENR_API_START_TIMEOUT:-60}"

check_port GREENR_API_PORT "$PORT"
check_positive_int GREENR_API_START_TIMEOUT "$START_TIMEOUT"

api_answers() { http_get 127.0.0.1 "$PORT" /health >/dev/null; }

start() {
    already_running && return 0
    [[ -x "$PYTHON" ]] || die "$REPO/.venv is missing: run scripts/setup.sh"
    port_open 127.0.0.1 "$PORT" && die "something else already listens on 127.0.0.1:$PORT (set GREENR_API_PORT)"

    say "starting on http://127.0.0.1:$PORT (log: $LOG_FILE)"
    export GREENR_API_PORT="$PORT"
    launch "PORT=$PORT"$'\n' "$PYTHON" -m greenr.api
    # A configuration error is one line starting with "greenr-api: error".
    wait_ready "$START_TIMEOUT" "greenr-api: error" "http://127.0.0.1:$PORT/health" api_answers
    say "running (pid $LAUNCHED_PID) on http://127.0.0.1:$PORT (docs: http://127.0.0.1:$PORT/docs)"
}

status() { http_status /health; }

daemon_main "$@"
