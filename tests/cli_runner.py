"""Running the project's commands in a subprocess, as a person would (ZenML state is per process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from greenr.settings import REPO_ROOT


def run_python(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository root with extra environment variables; never raises."""
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO_ROOT,
    )
