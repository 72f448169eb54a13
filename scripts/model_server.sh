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
# MODEL_CACHE_DIR, GREENR_MODEL_SERVER_THREADS (gunicorn threads, default 2), MALLOC_ARENA_MAX (default 2),
# GREENR_MODEL_SERVER_START_TIMEOUT (seconds, default 60), plus what the model reads
# (AWS_* for s3://, GREENR_MAX_IMAGE_PIXELS, GREENR_MAX_BATCH_SIZE, GREENR_INTRA_OP_THREADS,
# GREENR_INTRA_OP_SPINNING).
# The environment comes from scripts/serving_setup.sh (run it first; it is quick when done).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/daemon.sh
source "$REPO/scripts/lib/daemon.sh"

VENV="$REPO/.venv-serving"
STATE="$(realpath -m "${GREENR_HOME:-$REPO/.greenr}/model-server")"
DAEMON_NAME=model-server
PID_FILE="$STATE/server.pid"
LOG_FILE="$STATE/server.log"
ENV_FILE="$STATE/server.env"
CMDLINE_MARK="serving.wsgi:create_app()"
# gunicorn stops its worker gracefully on SIGTERM (up to --graceful-timeout, 10 s).
GRACE_SECONDS=30
PORT="${GREENR_MODEL_SERVER_PORT:-9000}"
THREADS="${GREENR_MODEL_SERVER_THREADS:-2}"
START_TIMEOUT="${GREENR_MODEL_SERVER_START_TIMEOUT:-60}"

check_port GREENR_MODEL_SERVER_PORT "$PORT"
check_positive_int GREENR_MODEL_SERVER_THREADS "$THREADS"
check_positive_int GREENR_MODEL_SERVER_START_TIMEOUT "$START_TIMEOUT"

server_answers() { [[ "$(http_get 127.0.0.1 "$PORT" /health/ping)" == pong* ]]; }

start() {
    already_running "; stop it to change MODEL_URI" && return 0
    [[ -x "$VENV/bin/gunicorn" ]] || die "$VENV is missing or incomplete: run scripts/serving_setup.sh"
    [[ -n "${MODEL_URI:-}" ]] \
        || die "MODEL_URI is not set: point it to a model artifact folder (path or s3://bucket/prefix) with model.onnx and metadata.json"
    port_open 127.0.0.1 "$PORT" \
        && die "something else already listens on 127.0.0.1:$PORT (set GREENR_MODEL_SERVER_PORT)"

    export MODEL_URI
    export MODEL_CACHE_DIR="${MODEL_CACHE_DIR:-$STATE/cache}"
    # glibc gives each thread that allocates its own malloc arena and keeps freed memory in it:
    # with 4 request threads the server grew from 180 to 380 MB resident under load; with 2
    # arenas and 2 threads it stays at 243-248 MB, and is faster (benchmarks/serving_benchmark.py).
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
    say "starting on http://127.0.0.1:$PORT with MODEL_URI=$MODEL_URI (log: $LOG_FILE)"
    # One worker with 2 threads: onnxruntime's session is thread-safe and already uses 2 cores
    # (4 threads measured slower at concurrency 8: 47.5 vs 50.0 images/s, and 100 MB more);
    # more workers would each hold a copy of the model, and the metrics live in the one worker
    # (serving/wsgi.py). --chdir puts serving/ on sys.path.
    launch "PORT=$PORT"$'\n'"MODEL_URI=$MODEL_URI"$'\n' \
        "$VENV/bin/gunicorn" \
        --bind "127.0.0.1:$PORT" \
        --workers 1 --worker-class gthread --threads "$THREADS" \
        --timeout 60 --graceful-timeout 10 \
        --chdir "$REPO" \
        --error-logfile - --capture-output \
        'serving.wsgi:create_app()'
    # The model's own one-line reason contains "cannot start".
    wait_ready "$START_TIMEOUT" "cannot start" "http://127.0.0.1:$PORT/health/ping" server_answers
    say "running (pid $LAUNCHED_PID) on http://127.0.0.1:$PORT"
}

status() { http_status /health/status "; MODEL_URI=$(env_value MODEL_URI)"; }

daemon_main "$@"
