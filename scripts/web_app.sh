#!/usr/bin/env bash
# Start, stop or show the web app (`python -m ui`, NiceGUI) in the background.
#
#   scripts/web_app.sh start    start it (idempotent) and wait until its page answers
#   scripts/web_app.sh stop     stop it and wait until every process it started is gone
#   scripts/web_app.sh status   show what runs (exit 0 when the page answers, 3 otherwise)
#
# It serves on GREENR_UI_HOST:GREENR_UI_PORT (default 127.0.0.1:8080) and talks to the prediction
# API at GREENR_API_URL (default http://127.0.0.1:$GREENR_API_PORT, i.e. port 8000). The API need
# not run: the page then says it is unavailable and offers Retry.
# State lives in ${GREENR_HOME:-<repo>/.greenr}/web/:
#   web.pid     pid of the app (also its process group: it runs under setsid)
#   web.log     the app's output
#   web.env     URL and pid of the running app
#   storage/    NiceGUI's storage folder (NICEGUI_STORAGE_PATH), so nothing lands in the repo
# Variables: GREENR_UI_HOST, GREENR_UI_PORT, GREENR_API_URL / GREENR_API_PORT, GREENR_MAX_UPLOAD_BYTES,
# GREENR_MAX_BATCH_FILES (read by greenr/settings.py), GREENR_WEB_START_TIMEOUT (seconds, default 60).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/daemon.sh
source "$REPO/scripts/lib/daemon.sh"

PYTHON="$REPO/.venv/bin/python"
STATE="$(realpath -m "${GREENR_HOME:-$REPO/.greenr}/web")"
DAEMON_NAME=web-app
PID_FILE="$STATE/web.pid"
LOG_FILE="$STATE/web.log"
ENV_FILE="$STATE/web.env"
CMDLINE_MARK="-m ui"
# uvicorn closes open browser connections and exits within its 5 s graceful-shutdown bound.
GRACE_SECONDS=20
HOST="${GREENR_UI_HOST:-127.0.0.1}"
PORT="${GREENR_UI_PORT:-8080}"
START_TIMEOUT="${GREENR_WEB_START_TIMEOUT:-60}"

check_port GREENR_UI_PORT "$PORT"
check_positive_int GREENR_WEB_START_TIMEOUT "$START_TIMEOUT"
# Where to knock: an "any address" bind still answers on the loopback address.
case "$HOST" in
    "" | 0.0.0.0 | "::" | "[::]") PROBE_HOST=127.0.0.1 ;;
    *) PROBE_HOST="$HOST" ;;
esac

# page_answers HOST PORT
page_answers() { http_get "$1" "$2" / >/dev/null; }
app_answers() { page_answers "$PROBE_HOST" "$PORT"; }

start() {
    local pid url
    url="http://$PROBE_HOST:$PORT"
    pid="$(daemon_pid)"
    if [[ -n "$pid" ]]; then
        [[ "$(env_value URL)" == "$url" ]] \
            || die "the web app already runs at $(env_value URL), not $url: run scripts/web_app.sh stop first"
        say "already running (pid $pid) at $url"
        return 0
    fi
    [[ -x "$PYTHON" ]] || die "$REPO/.venv is missing: run scripts/setup.sh"
    port_open "$PROBE_HOST" "$PORT" && die "something else already listens on $PROBE_HOST:$PORT (set GREENR_UI_PORT)"

    mkdir -p "$STATE/storage"
    say "starting at $url (log: $LOG_FILE)"
    # The repository is the working directory so that `-m ui` finds the package.
    # PYTEST_CURRENT_TEST is dropped: when a test runs this script, NiceGUI would otherwise see
    # it, switch to its own test mode and ignore GREENR_UI_PORT.
    cd "$REPO"
    export NICEGUI_STORAGE_PATH="$STATE/storage"
    unset PYTEST_CURRENT_TEST
    launch "URL=$url"$'\n' "$PYTHON" -m ui
    # A bad setting is one line starting with "web app: invalid".
    wait_ready "$START_TIMEOUT" "^web app: invalid" "$url" app_answers
    say "running (pid $LAUNCHED_PID) at $url"
}

status() {
    local pid url host port
    pid="$(daemon_pid)"
    if [[ -z "$pid" ]]; then
        say "not running"
        return 3
    fi
    url="$(env_value URL)"
    host="${url#http://}"
    port="${host##*:}"
    host="${host%:*}"
    if ! page_answers "$host" "$port"; then
        say "pid $pid runs but $url does not answer (log: $LOG_FILE)"
        return 3
    fi
    say "running (pid $pid) at $url; $(grep -m1 -h "^web app: serving" "$LOG_FILE" | sed 's/^web app: //')"
}

daemon_main "$@"
