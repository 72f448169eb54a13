"""The monitoring binaries for tests: found, or skipped locally, or a clear failure in CI.

CI (`CI` set, `.ci/run` installs the Debian packages) must never skip these tests silently.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from greenr.observability.monitoring_config import BINARIES, INSTALL_HINT, find_binary


def tool(name: str) -> Path:
    """The binary of `name` (a key of BINARIES); skip locally when missing, fail in CI."""
    found = find_binary(name)
    if found is not None:
        return found
    message = f"{' or '.join(BINARIES[name])} is not installed: {INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_tool(name: str, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a monitoring tool; never raises on a non-zero exit."""
    return subprocess.run(
        [str(tool(name)), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )
