#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) with `pip install -e '.[dev]'`.
#
# Idempotent: the SHA-256 of pyproject.toml is stored in .venv/.greenr-pyproject.sha256 after a
# successful install, and the install is skipped while pyproject.toml is unchanged.
# Variables: GREENR_PYTHON (interpreter used to create .venv; default python3.11, then python3),
# GREENR_FORCE_INSTALL=1 (reinstall even when pyproject.toml is unchanged).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
STAMP="$VENV/.greenr-pyproject.sha256"

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

cd "$REPO"
[[ -f pyproject.toml ]] || die "no pyproject.toml in $REPO"

if [[ ! -x "$VENV/bin/python" ]]; then
    python="${GREENR_PYTHON:-}"
    if [[ -z "$python" ]]; then
        for candidate in python3.11 python3; do
            if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
        done
    fi
    [[ -n "$python" ]] || die "no python3.11 or python3 found: install Python 3.11 (Debian: apt-get install python3 python3-venv)"
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
        || die "$python does not run"
    [[ "$version" == "3.11" ]] || die "$python is Python $version, the project needs 3.11 (set GREENR_PYTHON)"
    say "creating $VENV with $python (Python $version)"
    "$python" -m venv "$VENV" \
        || die "'$python -m venv' failed (Debian: apt-get install python3-venv)"
else
    say "$VENV exists"
fi

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
"$VENV/bin/python" -m pip install -e '.[dev]'
echo "$want" >"$STAMP"
say "done: activate with 'source .venv/bin/activate', run the tests with 'scripts/test.sh'"
