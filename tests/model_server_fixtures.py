"""Session fixtures of a real model server's ingredients: its environment, an ONNX model, an artifact.

Test modules load them with `pytest_plugins = ["model_server_fixtures"]` (and import the helpers
from model_server_kit.py), so that they are built once per run whichever modules use them. Kept
apart from the helpers so that pytest imports this module itself, as a plugin.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from model_server_kit import SERVING_PYTHON, SETUP_SCRIPT, Reference, build_onnx_model, write_artifact

from greenr.settings import REPO_ROOT


@pytest.fixture(scope="session")
def serving_env() -> Path:
    """.venv-serving, built or refreshed by scripts/serving_setup.sh (quick when up to date)."""
    result = subprocess.run(
        ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False, cwd=REPO_ROOT
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return SERVING_PYTHON


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_onnx_model(tmp_path_factory.mktemp("onnx") / "model.onnx")


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory, onnx_model: Path) -> Path:
    return write_artifact(tmp_path_factory.mktemp("artifact"), onnx_model.read_bytes())


@pytest.fixture(scope="session")
def reference(onnx_model: Path) -> Reference:
    return Reference(onnx_model)
