#!/usr/bin/env bash
# Start, stop or show the local Seldon model server (serving/wsgi.py under gunicorn, .venv-serving).
#
#   MODEL_URI=DIR|s3://bucket/prefix scripts/model_server.sh start
#                                 start it (idempotent) and wait until /health/ping answers;
#                                 fails with the server's own message when the model cannot load
#   scripts/model_server.sh stop  stop it and wait until every process it started is gone
#   scripts/model_server.sh status  show what runs and its /health/status (exit 0 when it
#                                 answers, 3 otherwise)
#
# It binds 127.0.0.1 only. State lives in ${GREENR_HOME:-<repo>/.greenr}/model-server/:
#   server.pid     pid of the gunicorn master (also its process group: it runs under setsid)
#   server.log     gunicorn's and the model's log
#   server.env     port and MODEL_URI of the running server
#   cache/         verified copies of the artifact (MODEL_CACHE_DIR overrides): when MODEL_URI is
#                  unreachable or broken, the server serves the last good copy from here
# Variables: MODEL_URI (required by start), GREENR_MODEL_SERVER_PORT (default 9000),
# MODEL_CACHE_DIR, GREENR_MODEL_SERVER_THREADS (gunicorn threads, default 4),
# GREENR_MODEL_SERVER_START_TIMEOUT (seconds, default 60), plus what the model reads
# (AWS_* for s3://, GREENR_MAX_IMAGE_PIXELS, GREENR_MAX_BATCH_SIZE, GREENR_INTRA_OP_THREADS).
# The environment comes from scripts/serving_setup.sh (run it first; it is quick when done).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-serving"
STATE="$(realpath -m "${GREENR_HOME:-$REPO/.greenr}/model-server")"
PID_FILE="$STATE/server.pid"
LOG_FILE="$STATE/server.log"
ENV_FILE="$STATE/server.env"
PORT="${GREENR_MODEL_SERVER_PORT:-9000}"
THREADS="${GREENR_MODEL_SERVER_THREADS:-4}"
START_TIMEOUT="${GREENR_MODEL_SERVER_START_TIMEOUT:-60}"

say() { echo "model-server: $*"; }
die() { echo "model-server: error: $*" >&2; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] && ((1024 <= PORT && PORT <= 65535)) \
    || die "GREENR_MODEL_SERVER_PORT=$PORT is not a port number in 1024-65535"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "GREENR_MODEL_SERVER_THREADS=$THREADS is not a positive integer"
[[ "$START_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "GREENR_MODEL_SERVER_START_TIMEOUT=$START_TIMEOUT is not a positive integer"

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# GET $2 on 127.0.0.1:$1 (HTTP/1.0: the server closes the connection after answering); prints the body.
http_get() {
    timeout 10 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
        response="$(cat <&3)"
        [[ "$response" == "HTTP/1."[01]" 200"* ]] || exit 1
        printf "%s\n" "${response#*$'"'"'\r\n\r\n'"'"'}"
    ' _ "$1" "$2" 2>/dev/null
}

# Pid of our running server, or nothing. The command line is checked too: after a reboot the
# pid in a stale pid file may belong to an unrelated process, which stop must never signal.
server_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "serving.wsgi:create_app()" \
        && echo "$pid"
    return 0
}

# Pids of every process in process group $1: the gunicorn master, its worker and the worker's
# children (SeldonMetrics' multiprocessing manager). Read from /proc: field 5 of stat is pgrp.
group_pids() {
    local stat line rest fields
    for stat in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$stat" || continue # a builtin: no fork per process
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
    # gunicorn stops its worker gracefully on SIGTERM (up to --graceful-timeout, 10 s); the
    # worker's exit shuts SeldonMetrics' manager down. Wait for the whole group, not only the master.
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
            || die "the model server already runs on port $port, not $PORT: run scripts/model_server.sh stop first"
        say "already running (pid $pid) on http://127.0.0.1:$PORT; stop it to change MODEL_URI"
        return 0
    fi
    [[ -x "$VENV/bin/gunicorn" ]] || die "$VENV is missing or incomplete: run scripts/serving_setup.sh"
    [[ -n "${MODEL_URI:-}" ]] \
        || die "MODEL_URI is not set: point it to a model artifact folder (path or s3://bucket/prefix) with model.onnx and metadata.json"
    port_open "$PORT" && die "something else already listens on 127.0.0.1:$PORT (set GREENR_MODEL_SERVER_PORT)"

    mkdir -p "$STATE"
    export MODEL_URI
    export MODEL_CACHE_DIR="${MODEL_CACHE_DIR:-$STATE/cache}"
    : >"$LOG_FILE"
    say "starting on http://127.0.0.1:$PORT with MODEL_URI=$MODEL_URI (log: $LOG_FILE)"
    # setsid: the server gets its own process group, so stop can wait for (and, as a last
    # resort, kill) every process it started, and a Ctrl-C in this shell does not reach it.
    # One worker with threads: onnxruntime's session is thread-safe and already uses 2 cores;
    # more workers would each hold a copy of the model. --chdir puts serving/ on sys.path.
    setsid "$VENV/bin/gunicorn" \
        --bind "127.0.0.1:$PORT" \
        --workers 1 --worker-class gthread --threads "$THREADS" \
        --timeout 60 --graceful-timeout 10 \
        --chdir "$REPO" \
        --error-logfile - --capture-output \
        'serving.wsgi:create_app()' \
        >>"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    printf 'PORT=%s\nMODEL_URI=%s\nPID=%s\n' "$PORT" "$MODEL_URI" "$pid" >"$ENV_FILE"

    local deadline=$((SECONDS + START_TIMEOUT))
    until [[ "$(http_get "$PORT" /health/ping)" == pong* ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE" "$ENV_FILE"
            echo "model-server: error: the server stopped during start; its log ($LOG_FILE) says:" >&2
            # The model's own one-line reason first, then the end of the log for context.
            grep -h "cannot start" "$LOG_FILE" >&2 || tail -n 20 "$LOG_FILE" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            stop_group "$pid"
            rm -f "$PID_FILE" "$ENV_FILE"
            tail -n 20 "$LOG_FILE" >&2
            die "no answer on http://127.0.0.1:$PORT/health/ping after ${START_TIMEOUT} s: stopped it"
        fi
        sleep 0.2
    done
    say "running (pid $pid) on http://127.0.0.1:$PORT"
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
    if ! health="$(http_get "$port" /health/status)"; then
        say "pid $pid runs but http://127.0.0.1:$port/health/status does not answer (log: $LOG_FILE)"
        return 3
    fi
    say "running (pid $pid) on http://127.0.0.1:$port; $(sed -n 's/^MODEL_URI=/MODEL_URI=/p' "$ENV_FILE")"
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
