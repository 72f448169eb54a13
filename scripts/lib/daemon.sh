# shellcheck shell=bash
# Process management shared by scripts/monitoring.sh and airflow.sh: each runs
# one server in the background under setsid (its own process group) and starts, stops and shows it.
# Sourced, not run. The caller sets, before calling anything here:
#   DAEMON_NAME     prefix of every message ("api-server")
#   PID_FILE        file holding the pid of the group leader
#   ENV_FILE        KEY=VALUE lines describing the running server (read with env_value)
#   LOG_FILE        the server's output
#   CMDLINE_MARK    a fragment of the leader's command line: a pid file left over from before a
#                   reboot may name an unrelated process, which stop must never signal
#   GRACE_SECONDS   how long stop waits after SIGTERM before it kills the group
#   PORT            (for already_running) the port the caller is about to serve on
# Everything talks to the network with bash's /dev/tcp: no curl needed on a fresh machine.

say() { echo "$DAEMON_NAME: $*"; }
die() {
    echo "$DAEMON_NAME: error: $*" >&2
    exit 1
}

# check_port NAME VALUE: dies unless VALUE is a port number an unprivileged user may bind.
check_port() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < 1024 || $2 > 65535)); then
        die "$1=$2 is not a port number in 1024-65535"
    fi
}

# check_positive_int NAME VALUE
check_positive_int() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1=$2 is not a positive integer"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# http_get HOST PORT PATH: prints the body of a 200 answer, fails otherwise (or after 10 s).
# HTTP/1.0, so the server closes the connection once it has answered.
http_get() {
    # shellcheck disable=SC2016 # the inner script expands its own arguments
    timeout 10 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$3" "$1" >&3
        response="$(cat <&3)"
        [[ "$response" == "HTTP/1."[01]" 200"* ]] || exit 1
        printf "%s\n" "${response#*$'"'"'\r\n\r\n'"'"'}"
    ' _ "$1" "$2" "$3" 2>/dev/null
}

# Pid of our running server, or nothing.
daemon_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CMDLINE_MARK" \
        && echo "$pid"
    return 0
}

# group_pids PGRP: pids of every process in the group (the leader, workers, their helpers), read
# from /proc without forking per process: field 5 of /proc/PID/stat is the process group.
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

# env_value KEY: the value recorded for the running server.
env_value() { sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null || true; }

# wait_group_gone PGRP SECONDS: true once no process of the group is left.
wait_group_gone() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        [[ -z "$(group_pids "$1")" ]] && return 0
        sleep 0.2
    done
    return 1
}

# stop_group PGRP: SIGTERM to the leader (each server finishes its requests in flight and shuts
# its helpers down), then the whole group is waited for, and killed after GRACE_SECONDS.
stop_group() {
    kill -TERM "$1" 2>/dev/null || true
    wait_group_gone "$1" "$GRACE_SECONDS" && return 0
    say "still running after $GRACE_SECONDS s: killing process group $1 ($(group_pids "$1" | tr '\n' ' '))"
    kill -KILL -- "-$1" 2>/dev/null || true
    wait_group_gone "$1" 10 || die "process group $1 does not stop"
}

# launch ENV_LINES COMMAND...: starts COMMAND in its own process group, output to the log, and
# records it. setsid: stop can wait for (and, as a last resort, kill) everything the server
# started, and a Ctrl-C in the calling shell does not reach it.
launch() {
    local env_lines="$1" pid
    shift
    mkdir -p "$(dirname "$PID_FILE")"
    : >"$LOG_FILE"
    setsid "$@" >>"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    printf '%sPID=%s\n' "$env_lines" "$pid" >"$ENV_FILE"
    LAUNCHED_PID="$pid"
}

# wait_ready TIMEOUT REASON_PATTERN WHAT PROBE...: waits until the command PROBE succeeds. If the
# server dies first, prints the line of its log matching REASON_PATTERN (its own one-line reason)
# or the end of the log, and exits; after TIMEOUT seconds, stops it and exits.
wait_ready() {
    local timeout="$1" reason="$2" what="$3" deadline
    shift 3
    deadline=$((SECONDS + timeout))
    until "$@"; do
        if ! kill -0 "$LAUNCHED_PID" 2>/dev/null; then
            rm -f "$PID_FILE" "$ENV_FILE"
            echo "$DAEMON_NAME: error: it stopped during start; its log ($LOG_FILE) says:" >&2
            grep -h -- "$reason" "$LOG_FILE" >&2 || tail -n 20 "$LOG_FILE" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            stop_group "$LAUNCHED_PID"
            rm -f "$PID_FILE" "$ENV_FILE"
            tail -n 20 "$LOG_FILE" >&2
            die "no answer from $what after $timeout s: stopped it"
        fi
        sleep 0.2
    done
}

daemon_stop() {
    local pid
    pid="$(daemon_pid)"
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

# already_running [DETAIL]: for a server on 127.0.0.1:$PORT: true, after saying so, when ours
# already runs there; dies when it runs on another port; false when it does not run.
already_running() {
    local pid recorded
    pid="$(daemon_pid)"
    [[ -n "$pid" ]] || return 1
    recorded="$(env_value PORT)"
    [[ "$recorded" == "${PORT:?}" ]] || die "it already runs on port $recorded, not $PORT: run $0 stop first"
    say "already running (pid $pid) on http://127.0.0.1:$PORT${1:-}"
}

# http_status PATH [DETAIL]: status of a server on 127.0.0.1 whose port is recorded as PORT: exit
# 0 and its answer to GET PATH when it answers, 3 otherwise. DETAIL is added to the first line.
http_status() {
    local path="$1" detail="${2:-}" pid port body
    pid="$(daemon_pid)"
    if [[ -z "$pid" ]]; then
        say "not running"
        return 3
    fi
    port="$(env_value PORT)"
    if ! body="$(http_get 127.0.0.1 "$port" "$path")"; then
        say "pid $pid runs but http://127.0.0.1:$port$path does not answer (log: $LOG_FILE)"
        return 3
    fi
    say "running (pid $pid) on http://127.0.0.1:$port$detail"
    echo "$body"
}

# daemon_main COMMAND: dispatches start|stop|status to the caller's start and status functions.
daemon_main() {
    case "${1:-}" in
        start) start ;;
        stop) daemon_stop ;;
        status) status ;;
        *)
            echo "usage: $0 start|stop|status" >&2
            exit 2
            ;;
    esac
}
