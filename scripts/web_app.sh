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
VENV="$REPO/.venv"
STATE="$(realpath -m "${GREENR_HOME:-$REPO/.greenr}/web")"
PID_FILE="$STATE/web.pid"
LOG_FILE="$STATE/web.log"
ENV_FILE="$STATE/web.env"
HOST="${GREENR_UI_HOST:-127.0.0.1}"
PORT="${GREENR_UI_PORT:-8080}"
START_TIMEOUT="${GREENR_WEB_START_TIMEOUT:-60}"

say() { echo "web-app: $*"; }
die() { echo "web-app: error: $*" >&2; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] && ((1 <= PORT && PORT <= 65535)) || die "GREENR_UI_PORT=$PORT is not a port number"
[[ "$START_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "GREENR_WEB_START_TIMEOUT=$START_TIMEOUT is not a positive integer"
# Where to knock: an "any address" bind still answers on the loopback address.
case "$HOST" in
    "" | 0.0.0.0 | "::" | "[::]") PROBE_HOST=127.0.0.1 ;;
    *) PROBE_HOST="$HOST" ;;
esac

# True when something accepts TCP connections on $PROBE_HOST:$1.
port_open() { (exec 3<>"/dev/tcp/$PROBE_HOST/$1") 2>/dev/null; }

# True when GET / on $1:$2 answers 200 (HTTP/1.0: the server closes the connection after answering).
page_answers() {
    timeout 10 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET / HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
        IFS= read -r status_line <&3 || exit 1
        [[ "$status_line" == "HTTP/1."[01]" 200"* ]]
    ' _ "$1" "$2" 2>/dev/null
}

# Pid of our running app, or nothing. The command line is checked too: after a reboot the pid in
# a stale pid file may belong to an unrelated process, which stop must never signal.
app_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-m ui" \
        && echo "$pid"
    return 0
}

# Pids of every process in process group $1, read from /proc (field 5 of stat is the pgrp).
group_pids() {
    local stat line rest fields
    for stat in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$stat" || continue
        rest="${line##*) }" # after "pid (comm) ": comm may contain spaces and parentheses
        read -r -a fields <<<"$rest"
        [[ "${fields[2]:-}" == "$1" ]] && echo "${stat//[^0-9]/}"
    done
    return 0
}

env_value() { sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null || true; }

stop_group() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || true
    # uvicorn closes open browser connections and exits within its 5 s graceful-shutdown bound.
    for ((i = 0; i < 100; i++)); do
        [[ -z "$(group_pids "$pid")" ]] && return 0
        sleep 0.2
    done
    say "still running after 20 s: killing process group $pid ($(group_pids "$pid" | tr '\n' ' '))"
    kill -KILL -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [[ -z "$(group_pids "$pid")" ]] && return 0
        sleep 0.2
    done
    die "process group $pid does not stop"
}

start() {
    local pid url
    url="http://$PROBE_HOST:$PORT"
    pid="$(app_pid)"
    if [[ -n "$pid" ]]; then
        [[ "$(env_value URL)" == "$url" ]] \
            || die "the web app already runs at $(env_value URL), not $url: run scripts/web_app.sh stop first"
        say "already running (pid $pid) at $url"
        return 0
    fi
    [[ -x "$VENV/bin/python" ]] || die "$VENV is missing: run scripts/setup.sh"
    port_open "$PORT" && die "something else already listens on $PROBE_HOST:$PORT (set GREENR_UI_PORT)"

    mkdir -p "$STATE/storage"
    : >"$LOG_FILE"
    say "starting at $url (log: $LOG_FILE)"
    # setsid: the app gets its own process group, so stop can wait for (and, as a last resort,
    # kill) everything it started, and a Ctrl-C in this shell does not reach it. The repository
    # is the working directory so that `-m ui` finds the package.
    # PYTEST_CURRENT_TEST is dropped: when a test runs this script, NiceGUI would otherwise see
    # it, switch to its own test mode and ignore GREENR_UI_PORT.
    (cd "$REPO" && NICEGUI_STORAGE_PATH="$STATE/storage" exec env -u PYTEST_CURRENT_TEST \
        setsid "$VENV/bin/python" -m ui) >>"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    printf 'URL=%s\nPID=%s\n' "$url" "$pid" >"$ENV_FILE"

    local deadline=$((SECONDS + START_TIMEOUT))
    until page_answers "$PROBE_HOST" "$PORT"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE" "$ENV_FILE"
            echo "web-app: error: the web app stopped during start; its log ($LOG_FILE) says:" >&2
            # The app's own one-line reason (e.g. a bad setting) first, then the end of the log.
            grep -h "^web app: invalid" "$LOG_FILE" >&2 || tail -n 20 "$LOG_FILE" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            stop_group "$pid"
            rm -f "$PID_FILE" "$ENV_FILE"
            tail -n 20 "$LOG_FILE" >&2
            die "no answer at $url after ${START_TIMEOUT} s: stopped it"
        fi
        sleep 0.3
    done
    say "running (pid $pid) at $url"
}

stop() {
    local pid
    pid="$(app_pid)"
    if [[ -z "$pid" ]]; then
        say "not running"
        rm -f "$PID_FILE" "$ENV_FILE"
        return 0
    fi
    say "stopping pid $pid"
    stop_group "$pid"
    rm -f "$PID_FILE" "$ENV_FILE"
    say "stopped"
}

status() {
    local pid url host port
    pid="$(app_pid)"
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

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
