#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) with `pip install -e '.[dev]'`.
#
# Idempotent: the SHA-256 of pyproject.toml is stored in .venv/.greenr-pyproject.sha256 after a
# successful install, and the install is skipped while pyproject.toml is unchanged.
# Variables: GREENR_PYTHON (interpreter used to create .venv; default python3.11, then python3),
# GREENR_FORCE_INSTALL=1 (reinstall even when pyproject.toml is unchanged).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/venv.sh
source "$REPO/scripts/lib/venv.sh"
VENV="$REPO/.venv"
STAMP="$VENV/.greenr-pyproject.sha256"

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

cd "$REPO"
[[ -f pyproject.toml ]] || die "no pyproject.toml in $REPO"

ensure_venv "$VENV"

want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" == "$have" && "${GREENR_FORCE_INSTALL:-0}" != "1" ]]; then
    say "pyproject.toml unchanged since the last install: nothing to do"
    exit 0
fi

say "upgrading pip"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
say "installing the project: pip install -e '.[dev]' (takes a few minutes the first time)"
rm -f "$STAMP"
with_source_tree "$REPO" "$VENV/bin/python" -m pip install -e '.[dev]'
echo "$want" >"$STAMP"
say "done: activate with 'source .venv/bin/activate', run the tests with 'scripts/test.sh'"
