#!/usr/bin/env bash
# Start, stop or show the prediction API in the background: scripts/api_server.sh start|stop|status.
# A thin wrapper of `python -m greenr.api.daemon` (its docstring says what each command does);
# settings (GREENR_API_PORT, GREENR_HOME, GREENR_API_START_TIMEOUT...) are greenr/settings.py's.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -x "$REPO/.venv/bin/python" ]] || {
    echo "api-server: error: $REPO/.venv is missing: run scripts/setup.sh" >&2
    exit 1
}
exec "$REPO/.venv/bin/python" -m greenr.api.daemon "$@"
