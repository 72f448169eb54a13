"""`python -m greenr.deployment status|start|stop` starts without MLflow, ONNX or TensorFlow: it
builds the active stack's model deployer alone, not every component of the stack (the MLflow
experiment tracker's import alone costs seconds), and reads no model."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import isolated_env, run_python

pytestmark = pytest.mark.slow


def test_the_deployment_command_imports_no_mlflow_onnx_or_tensorflow(tmp_path: Path) -> None:
    result = run_python(["tests/deployment_command_modules.py"], isolated_env(tmp_path / "home", {}))
    assert result.returncode == 0, result.stderr[-3000:]
    # 3: no server was deployed on the fresh stack, so the command ran to its end.
    assert result.stdout.strip().splitlines()[-1] == "3 []", result.stdout[-2000:]
