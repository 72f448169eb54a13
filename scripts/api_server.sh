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
PYTHON="$REPO/.venv/bin/python"
STATE="$(realpath -m "${GREENR_HOME:-$REPO/.greenr}/api")"
PID_FILE="$STATE/server.pid"
LOG_FILE="$STATE/server.log"
ENV_FILE="$STATE/server.env"
PORT="${GREENR_API_PORT:-8000}"
START_TIMEOUT="${GREENR_API_START_TIMEOUT:-60}"

say() { echo "api-server: $*"; }
die() { echo "api-server: error: $*" >&2; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] && ((1024 <= PORT && PORT <= 65535)) \
    || die "GREENR_API_PORT=$PORT is not a port number in 1024-65535"
[[ "$START_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "GREENR_API_START_TIMEOUT=$START_TIMEOUT is not a positive integer"

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# GET $2 on 127.0.0.1:$1 (HTTP/1.0: the server closes the connection after answering); prints the
# body of a 200 answer, fails otherwise.
http_get() {
    timeout 10 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
        response="$(cat <&3)"
        [[ "$response" == "HTTP/1."[01]" 200"* ]] || exit 1
        printf "%s\n" "${response#*$'"'"'\r\n\r\n'"'"'}"
    ' _ "$1" "$2" 2>/dev/null
}

# Pid of our running API, or nothing. The command line is checked too: after a reboot the pid in
# a stale pid file may belong to an unrelated process, which stop must never signal.
server_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-m greenr.api" \
        && echo "$pid"
    return 0
}

# Pids of every process in process group $1 (field 5 of /proc/PID/stat is pgrp).
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

running_port() { sed -n 's/^PORT=//p' "$ENV_FILE" 2>/dev/null || true; }

stop_group() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || true
    # uvicorn finishes the requests in flight (up to 10 s), then runs the lifespan shutdown
    # (last whylogs profile, connections closed).
    for ((i = 0; i < 150; i++)); do
        [[ -z "$(group_pids "$pid")" ]] && return 0
        sleep 0.2
    done
    say "still running after 30 s: killing process group $pid ($(group_pids "$pid" | tr '\n' ' '))"
    kill -KILL -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [[ -z "$(group_pids "$pid")" ]] && return 0
        sleep 0.2
    done
    die "process group $pid does not stop"
}

start() {
    local pid port
    pid="$(server_pid)"
    if [[ -n "$pid" ]]; then
        port="$(running_port)"
        [[ "$port" == "$PORT" ]] \
            || die "the API already runs on port $port, not $PORT: run scripts/api_server.sh stop first"
        say "already running (pid $pid) on http://127.0.0.1:$PORT"
        return 0
    fi
    [[ -x "$PYTHON" ]] || die "$REPO/.venv is missing: run scripts/setup.sh"
    port_open "$PORT" && die "something else already listens on 127.0.0.1:$PORT (set GREENR_API_PORT)"

    mkdir -p "$STATE"
    : >"$LOG_FILE"
    say "starting on http://127.0.0.1:$PORT (log: $LOG_FILE)"
    # setsid: its own process group, so stop can wait for (and, as a last resort, kill) all of
    # it, and a Ctrl-C in this shell does not reach it.
    GREENR_API_PORT="$PORT" setsid "$PYTHON" -m greenr.api >>"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    printf 'PORT=%s\nPID=%s\n' "$PORT" "$pid" >"$ENV_FILE"

    local deadline=$((SECONDS + START_TIMEOUT))
    until http_get "$PORT" /health >/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE" "$ENV_FILE"
            echo "api-server: error: the API stopped during start; its log ($LOG_FILE) says:" >&2
            # A configuration error is one line; otherwise the end of the log.
            grep -h "greenr-api: error" "$LOG_FILE" >&2 || tail -n 20 "$LOG_FILE" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            stop_group "$pid"
            rm -f "$PID_FILE" "$ENV_FILE"
            tail -n 20 "$LOG_FILE" >&2
            die "no answer on http://127.0.0.1:$PORT/health after ${START_TIMEOUT} s: stopped it"
        fi
        sleep 0.2
    done
    say "running (pid $pid) on http://127.0.0.1:$PORT (docs: http://127.0.0.1:$PORT/docs)"
}

stop() {
    local pid
    pid="$(server_pid)"
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
    local pid port health
    pid="$(server_pid)"
    if [[ -z "$pid" ]]; then
        say "not running"
        return 3
    fi
    port="$(running_port)"
    if ! health="$(http_get "$port" /health)"; then
        say "pid $pid runs but http://127.0.0.1:$port/health does not answer (log: $LOG_FILE)"
        return 3
    fi
    say "running (pid $pid) on http://127.0.0.1:$port"
    echo "$health"
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
