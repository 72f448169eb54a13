#!/usr/bin/env bash
# Start, stop or show Prometheus, Alertmanager, the Pushgateway and the alert inbox on 127.0.0.1,
# watching the running quickstart (prediction API, model server) and the pipelines' pushed metrics.
#
#   scripts/monitoring.sh start    render the configs, start the four servers, print their URLs
#   scripts/monitoring.sh stop     stop them (each waits until its processes are gone)
#   scripts/monitoring.sh status   show what runs (exit 0 when all four answer, 3 otherwise)
#   scripts/monitoring.sh alerts   the alerts the inbox received (python -m greenr.observability alerts)
#
# Ports, targets, the scrape interval and the alert webhooks come from greenr/settings.py
# (GREENR_PROMETHEUS_PORT, GREENR_ALERTMANAGER_PORT, GREENR_PUSHGATEWAY_PORT, GREENR_ALERT_INBOX_PORT,
# GREENR_API_PORT, GREENR_MODEL_SERVER_PORT, GREENR_MONITORING_INTERVAL, GREENR_ALERT_PAGER_URL,
# GREENR_ALERT_TICKET_URL): `python -m greenr.observability render` writes the configs and
# monitoring.env, which this script reads. State lives in <GREENR_HOME>/monitoring/ (GREENR_HOME as
# greenr/settings.py resolves it, read through `python -m greenr.settings_cli home`):
#   prometheus.yml, alertmanager.yml, monitoring.env   rendered configs
#   <server>.pid, <server>.log, <server>.env           each server's process, output, port
#   prometheus-data/, alertmanager-data/, pushgateway.metrics   their data
#   alerts.jsonl                                      the alerts the inbox received (unless
#                                                     GREENR_ALERT_PAGER_URL/TICKET_URL send them elsewhere)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/daemon.sh
source "$REPO/scripts/lib/daemon.sh"

PYTHON="$REPO/.venv/bin/python"
[[ -x "$PYTHON" ]] || { echo "monitoring: error: $REPO/.venv is missing: run scripts/setup.sh" >&2; exit 1; }
HOME_DIR="$("$PYTHON" -m greenr.settings_cli home)"
STATE="$HOME_DIR/monitoring"
GRACE_SECONDS=20
START_TIMEOUT=60
SERVERS=(alert-inbox pushgateway alertmanager prometheus)
DAEMON_NAME=monitoring

# use_server NAME: point daemon.sh's globals at one of the three servers.
use_server() {
    DAEMON_NAME="$1"
    PID_FILE="$STATE/$1.pid"
    LOG_FILE="$STATE/$1.log"
    ENV_FILE="$STATE/$1.env"
    case "$1" in
        prometheus) PORT="$PROMETHEUS_PORT" CMDLINE_MARK="--storage.tsdb.path=$STATE/prometheus-data" ;;
        alertmanager) PORT="$ALERTMANAGER_PORT" CMDLINE_MARK="--storage.path=$STATE/alertmanager-data" ;;
        pushgateway) PORT="$PUSHGATEWAY_PORT" CMDLINE_MARK="--persistence.file=$STATE/pushgateway.metrics" ;;
        # Empty in a monitoring.env written before the inbox existed: stop still finds it by pid.
        alert-inbox) PORT="${ALERT_INBOX_PORT:-}" CMDLINE_MARK="greenr.observability alert-inbox" ;;
    esac
}

# load_env: reads monitoring.env (false when the servers were never started here).
load_env() {
    [[ -f "$STATE/monitoring.env" ]] || return 1
    # shellcheck source=/dev/null
    source "$STATE/monitoring.env"
}

server_ready() { http_get 127.0.0.1 "$PORT" /-/ready >/dev/null; }

start_server() {
    use_server "$1"
    already_running && return 0
    port_open 127.0.0.1 "$PORT" && die "something else already listens on 127.0.0.1:$PORT"
    local listen="127.0.0.1:$PORT"
    case "$1" in
        prometheus)
            launch "PORT=$PORT"$'\n' "$PROMETHEUS_BIN" --config.file="$STATE/prometheus.yml" \
                --storage.tsdb.path="$STATE/prometheus-data" --web.listen-address="$listen"
            ;;
        alertmanager)
            # An empty cluster address: no gossip listener on 0.0.0.0:9094.
            launch "PORT=$PORT"$'\n' "$ALERTMANAGER_BIN" --config.file="$STATE/alertmanager.yml" \
                --storage.path="$STATE/alertmanager-data" --web.listen-address="$listen" \
                --cluster.listen-address=
            ;;
        pushgateway)
            launch "PORT=$PORT"$'\n' "$PUSHGATEWAY_BIN" --web.listen-address="$listen" \
                --persistence.file="$STATE/pushgateway.metrics"
            ;;
        alert-inbox)
            # Its port and file come from the settings, as the rendered configs' do.
            launch "PORT=$PORT"$'\n' "$PYTHON" -m greenr.observability alert-inbox
            ;;
    esac
    wait_ready "$START_TIMEOUT" "level=error" "http://$listen/-/ready" server_ready
    say "running (pid $LAUNCHED_PID) on http://$listen"
}

start() {
    [[ -x "$PYTHON" ]] || die "$REPO/.venv is missing: run scripts/setup.sh"
    (cd "$REPO" && "$PYTHON" -m greenr.observability render "$STATE") >/dev/null
    load_env || die "the configs were not rendered into $STATE"
    local server
    for server in "${SERVERS[@]}"; do start_server "$server"; done
    cat <<MSG
Prometheus:    http://127.0.0.1:$PROMETHEUS_PORT   (alerts: http://127.0.0.1:$PROMETHEUS_PORT/alerts)
Alertmanager:  http://127.0.0.1:$ALERTMANAGER_PORT
Pushgateway:   http://127.0.0.1:$PUSHGATEWAY_PORT   (pipelines push here: export GREENR_PUSHGATEWAY_URL=http://127.0.0.1:$PUSHGATEWAY_PORT)
Alerts:        pages to $PAGER_URL, tickets to $TICKET_URL
               (what reaches the local inbox on :$ALERT_INBOX_PORT: bash scripts/monitoring.sh alerts)
Scraping:      API $API_TARGET, model server $MODEL_SERVER_TARGET
Dashboards:    monitoring/grafana/ (provisioning for a Grafana server; see docs/observability.md)
Stop them:     bash scripts/monitoring.sh stop
MSG
}

stop() {
    load_env || {
        say "not running (never started in $STATE)"
        return 0
    }
    local status=0 server
    for server in prometheus alertmanager pushgateway alert-inbox; do
        use_server "$server"
        daemon_stop || status=1
    done
    return "$status"
}

status() {
    load_env || {
        say "not running (never started in $STATE)"
        return 3
    }
    local status=0 server
    for server in "${SERVERS[@]}"; do
        use_server "$server"
        http_status /-/ready || status=3
    done
    return "$status"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    alerts) "$PYTHON" -m greenr.observability alerts "${@:2}" ;;
    *)
        echo "usage: $0 start|stop|status|alerts [--last N]" >&2
        exit 2
        ;;
esac
