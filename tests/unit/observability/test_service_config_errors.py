"""A server that refuses its configuration says why in one JSON line (its message readable alone).

The daemon (greenr.supervision.daemon) shows that message as the reason it did not start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from greenr.settings import REPO_ROOT

pytestmark = pytest.mark.slow  # each starts a Python that imports its service (up to ~6 s)


@pytest.mark.parametrize(
    ("module", "status", "prefix"),
    [
        ("ui", 2, "web app: invalid configuration"),
        ("greenr.api", 1, "greenr-api: error: invalid configuration"),
    ],
)
def test_a_bad_setting_is_one_json_line(module: str, status: int, prefix: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GREENR_UI_PORT": "not-a-port", "GREENR_API_PORT": "x"}
    result = subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert str(entry["message"]).startswith(prefix), entry
