#!/usr/bin/env bash
# Stop what scripts/quickstart.sh started: the web app, the prediction API, the model server.
# Each stop waits until its processes are gone; stopping something that does not run is fine.
# The model server is a ZenML service of the active stack's model deployer: it is stopped through
# the deployer, which remembers what it served, so one command starts it again.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
status=0
for script in web_app.sh api_server.sh; do
    bash "$REPO/scripts/$script" stop || status=1
done
if [[ -x "$REPO/.venv/bin/python" ]]; then
    (cd "$REPO" && .venv/bin/python -m greenr.deployment stop) || status=1
fi
echo "Start the model server again (the champion it served): .venv/bin/python -m greenr.deployment start"
exit "$status"
