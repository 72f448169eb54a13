"""Running the project's commands in a subprocess, as a person would (ZenML state is per process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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


# Prefixes of the developer's settings that must not reach a server a test starts: an AWS_*,
# MODEL_* or GREENR_* variable would change what it loads or where it keeps state.
_OWN_SETTINGS = ("AWS_", "GREENR_", "MODEL_", "MLFLOW_")


def isolated_env(home: Path, variables: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the project's settings, with GREENR_HOME=home,
    AWS config files inside it (absent: no profile is read) and `variables` on top."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(_OWN_SETTINGS)}
    return {
        **base,
        "GREENR_HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        **variables,
    }


def run_script(
    script: Path, command: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`bash SCRIPT COMMAND` from the repository root with exactly `env`; never raises."""
    return subprocess.run(
        ["bash", str(script), command],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
    )
