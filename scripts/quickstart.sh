#!/usr/bin/env bash
# The README's first command: install everything, then run the whole life of the model on
# embedded defaults (SQLite catalog, local object store, local ZenML and MLflow, all under
# .greenr/): ingest the photos, train, register and promote, deploy the champion to a local
# model server, make the API keys (a `predict` key for the web app, an `admin` key for you, in
# .greenr/api-keys/, mode 0600), and start the prediction API and the web app on 127.0.0.1.
# Safe to run again: ingestion is idempotent, training adds a challenger that the gate judges,
# deployment leaves a server alone when it already serves the champion, valid keys are kept.
#
#   bash scripts/quickstart.sh [--source DIR]      extra arguments go to the ingestion run
#                                                  (--source also takes s3://bucket/prefix/ or FILE.csv)
#   bash scripts/stop.sh                           stops the web app, the API and the model server
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
stage() { printf '\n==> %s\n' "$*"; }

stage "environments (scripts/setup.sh, scripts/serving_setup.sh)"
bash scripts/setup.sh
bash scripts/serving_setup.sh

# Locally, every service (pipelines, model server, API, web app) writes its JSON log lines to a
# size-bounded, rotated file under the state folder (docs/observability.md) unless GREENR_LOG_DIR
# says where; the state folder is the one greenr/settings.py resolves.
if [[ -z "$(.venv/bin/python -m greenr.settings_cli log_dir)" ]]; then
    GREENR_LOG_DIR="$(.venv/bin/python -m greenr.settings_cli home)/logs"
    export GREENR_LOG_DIR
fi

stage "ZenML stacks: register 'local' (with its model deployer) and activate it"
.venv/bin/python -m stacks register --stack local --activate local

# A fresh clone has no ../shared/data/greenr: without --source, the default folder is used when it
# exists, else the reference photos are fetched and checked against greenr/dataset/reference_sha256.txt
# (GREENR_REFERENCE_DATASET_URL); a failed fetch stops here with one line saying what to do.
source_args=()
given_source=0
for arg in "$@"; do
    [[ "$arg" == --source || "$arg" == --source=* ]] && given_source=1
done
if ((given_source == 0)); then
    stage "dataset: the default source, or the reference dataset fetched and verified"
    source_dir="$(.venv/bin/python -m greenr.dataset.reference ensure)" || exit 1
    source_args=(--source "$source_dir")
fi

stage "ingestion pipeline"
.venv/bin/python run.py --pipeline ingestion "${source_args[@]}" "$@"

stage "training pipeline (a few minutes on 2 cores)"
.venv/bin/python run.py --pipeline training

stage "deployment pipeline: the champion on the local model server (the stack's model deployer)"
.venv/bin/python run.py --pipeline deployment

stage "API keys (python -m greenr.api.keys setup-local: kept when still valid)"
.venv/bin/python -m greenr.api.keys setup-local

stage "prediction API and web app"
bash scripts/api_server.sh start
bash scripts/web_app.sh start

stage "running"
.venv/bin/python -m greenr.quickstart_summary
