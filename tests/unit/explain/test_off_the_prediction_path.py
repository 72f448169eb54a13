"""Explanations stay off the prediction path: the API starts without TensorFlow or Keras. (The
model server cannot reach the explainer at all: tests/unit/test_import_graph.py allows it
greenr.images, greenr.features, greenr.open_set and greenr.json_logging only.)"""

from __future__ import annotations

import subprocess
import sys

from greenr.settings import REPO_ROOT

# Builds the API as `python -m greenr.api` does (no request served), then lists the heavy modules.
_PROBE = """
import sys
from greenr.api.app import create_app
from greenr.settings import load_settings
create_app(load_settings())
print(sorted(m for m in ("tensorflow", "keras", "mlflow") if m in sys.modules))
"""


def test_the_api_imports_no_tensorflow_until_an_explanation_is_asked_for() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
