#!/usr/bin/env bash
# The README's first command: install everything, register the ZenML stacks, run the main job
# end to end on embedded defaults (SQLite catalog, local object store, local ZenML and MLflow,
# all under .greenr/). Safe to run again: every stage is idempotent.
#
#   bash scripts/quickstart.sh [--source DIR]      extra arguments go to the ingestion run
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
stage() { printf '\n==> %s\n' "$*"; }

stage "environment (scripts/setup.sh)"
bash scripts/setup.sh

stage "ZenML stacks: register 'local' and activate it"
.venv/bin/python -m stacks register --stack local --activate local

stage "ingestion pipeline"
.venv/bin/python run.py --pipeline ingestion "$@"

stage "done"
cat <<MSG
State folder:   $REPO/.greenr  (catalog.db, lake/, zenml/, artifacts/)
Next:           .venv/bin/python run.py --pipeline ingestion --source DIR   (ingest more photos)
ZenML CLI:      export ZENML_CONFIG_PATH=$REPO/.greenr/zenml; .venv/bin/zenml pipeline runs list
Tests:          bash scripts/test.sh
MSG
