#!/usr/bin/env bash
# Create or refresh Airflow's own virtualenv (.venv-airflow): dags/requirements.txt, resolved
# under dags/constraints.txt (the pins of every package, made by `pip freeze` after the install
# that was tested) when that file exists.
#
# Why a third environment: Airflow's tasks here only start `python run.py --pipeline X` in the
# project's .venv (README, "Scheduling with Airflow"), so Airflow needs none of greenr's
# dependencies, and its own (SQLAlchemy, FastAPI, ...) must not move the project's pins.
#
# Idempotent: the SHA-256 of dags/requirements.txt, dags/constraints.txt and this script is stored
# in .venv-airflow/.greenr-airflow.sha256 after a successful install; while they are unchanged a
# second run does nothing.
# Variables: GREENR_AIRFLOW_VENV (where to build it; default <repo>/.venv-airflow),
# GREENR_PYTHON (interpreter; default python3.11, then python3), GREENR_FORCE_INSTALL=1.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
VENV="${GREENR_AIRFLOW_VENV:-$REPO/.venv-airflow}"
STAMP="$VENV/.greenr-airflow.sha256"
REQUIREMENTS="$REPO/dags/requirements.txt"
CONSTRAINTS="$REPO/dags/constraints.txt"

say() { echo "airflow-setup: $*"; }
die() { echo "airflow-setup: error: $*" >&2; exit 1; }

cd "$REPO"
[[ -f "$REQUIREMENTS" ]] || die "no $REQUIREMENTS"

ensure_venv "$VENV"

inputs=("$REQUIREMENTS" "${BASH_SOURCE[0]}")
constraints=()
if [[ -f "$CONSTRAINTS" ]]; then
    inputs+=("$CONSTRAINTS")
    constraints=(-c "$CONSTRAINTS")
fi
want="$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" == "$have" && "${GREENR_FORCE_INSTALL:-0}" != "1" ]]; then
    say "dags/requirements.txt unchanged since the last install: nothing to do"
    exit 0
fi

rm -f "$STAMP"
say "installing dags/requirements.txt (Airflow; a few minutes the first time, pip's cache helps after)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS" "${constraints[@]}"
say "checking the environment (pip check)"
"$VENV/bin/python" -m pip check >/dev/null || die "pip check failed in $VENV: dags/requirements.txt does not resolve cleanly"
echo "$want" >"$STAMP"
say "done: scripts/airflow.sh start runs Airflow with the DAGs in dags/"
