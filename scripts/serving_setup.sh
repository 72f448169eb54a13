#!/usr/bin/env bash
# Create or refresh the model server's own virtualenv (.venv-serving): serving/requirements.txt
# plus the repository's `greenr` package installed with --no-deps.
#
# Why a second environment: seldon-core 1.x pins click<8.1, protobuf<4, numpy<2, Flask<3 and
# prometheus-client<0.9, which TensorFlow, ZenML and MLflow (the main .venv) cannot share. The
# server only needs `greenr.images.decoding` and `greenr.images.preprocess` (numpy + Pillow), so
# greenr's own dependencies are not installed here; the last step checks that importing those two
# modules still pulls nothing else in.
#
# Idempotent: the SHA-256 of serving/requirements.txt, pyproject.toml and this script is stored in
# .venv-serving/.greenr-serving.sha256 after a successful install; while they are unchanged a
# second run does nothing. greenr is installed in editable mode, so changes to its sources need no
# reinstall.
# Variables: GREENR_PYTHON (interpreter used to create the env; default python3.11, then python3),
# GREENR_FORCE_INSTALL=1 (reinstall even when nothing changed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
VENV="$REPO/.venv-serving"
STAMP="$VENV/.greenr-serving.sha256"
REQUIREMENTS="$REPO/serving/requirements.txt"

say() { echo "serving-setup: $*"; }
die() { echo "serving-setup: error: $*" >&2; exit 1; }

cd "$REPO"
[[ -f "$REQUIREMENTS" ]] || die "no $REQUIREMENTS"

ensure_venv "$VENV"

want="$(cat "$REQUIREMENTS" pyproject.toml "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" == "$have" && "${GREENR_FORCE_INSTALL:-0}" != "1" ]]; then
    say "serving/requirements.txt unchanged since the last install: nothing to do"
    exit 0
fi

rm -f "$STAMP"
say "upgrading pip"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
say "installing serving/requirements.txt (seldon-core, onnxruntime, ...; about a minute the first time)"
"$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
# --no-build-isolation: build with this env's setuptools (<81, pinned above) instead of fetching
# another one; --no-deps: greenr's dependencies (TensorFlow, ZenML, ...) must stay out of here.
say "installing the greenr package without its dependencies (editable)"
# Its build output (setuptools deprecation notices about pyproject.toml) is shown only on failure.
log="$VENV/.greenr-install.log"
with_source_tree "$REPO" "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$REPO" \
    >"$log" 2>&1 \
    || { cat "$log" >&2; die "installing greenr failed"; }
say "checking the environment (pip check, ignoring greenr's own dependencies, absent on purpose)"
problems="$("$VENV/bin/python" -m pip check 2>&1 | grep -v -e '^greenr ' -e '^No broken requirements' -e '^WARNING: ' || true)"
[[ -z "$problems" ]] || die "pip check failed: serving/requirements.txt does not resolve cleanly:
$problems"
say "checking that greenr.images imports only numpy and Pillow here"
# Run from the repository root: `serving` is not an installed package, the working folder is on the path.
"$VENV/bin/python" -m serving.environment_check \
    || die "greenr.images.decoding/preprocess need more than numpy + Pillow (see above)"
echo "$want" >"$STAMP"
say "done: the deployment pipeline (python run.py --pipeline deployment) runs the model server with it"
