#!/usr/bin/env bash
# Stop what scripts/quickstart.sh started: the web app, the prediction API, the model server.
# Each stop waits until its processes are gone; stopping something that does not run is fine.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
status=0
for script in web_app.sh api_server.sh model_server.sh; do
    bash "$REPO/scripts/$script" stop || status=1
done
exit "$status"
