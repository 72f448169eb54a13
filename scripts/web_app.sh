#!/usr/bin/env bash
# Start, stop or show the web app in the background: scripts/web_app.sh start|stop|status.
# A thin wrapper of `python -m ui.daemon` (its docstring says what each command does); settings
# (GREENR_UI_HOST, GREENR_UI_PORT, GREENR_HOME, GREENR_WEB_START_TIMEOUT...) are greenr/settings.py's.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -x "$REPO/.venv/bin/python" ]] || {
    echo "web-app: error: $REPO/.venv is missing: run scripts/setup.sh" >&2
    exit 1
}
cd "$REPO"
exec "$REPO/.venv/bin/python" -m ui.daemon "$@"
