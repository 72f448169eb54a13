"""Session fixtures of a real model server's ingredients: its environment, an ONNX model, an artifact.

Test modules load them with `pytest_plugins = ["model_server_fixtures"]` (and import the helpers
from model_server_kit.py), so that they are built once per run whichever modules use them. Kept
apart from the helpers so that pytest imports this module itself, as a plugin.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_server_kit import (
    SERVING_PYTHON,
    SETUP_SCRIPT,
    ModelServer,
    Reference,
    build_onnx_model,
    new_server,
    real_photos,
    write_artifact,
)

from greenr.features.embedding_reduction import EmbeddingReduction, reduction_to_json
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
    """The served model as training exports it now: probabilities and the embedding."""
    return build_onnx_model(tmp_path_factory.mktemp("onnx") / "model.onnx", embedding=True)


@pytest.fixture(scope="session")
def reduction(onnx_model: Path) -> EmbeddingReduction:
    """The embedding reduction fitted on a few real photos (training fits it on the train split)."""
    photos = real_photos(4)
    return Reference(onnx_model).fitted_reduction(
        [path.read_bytes() for path in photos], [path.parent.name for path in photos]
    )


@pytest.fixture(scope="session")
def artifact(
    tmp_path_factory: pytest.TempPathFactory, onnx_model: Path, reduction: EmbeddingReduction
) -> Path:
    return write_artifact(
        tmp_path_factory.mktemp("artifact"), onnx_model.read_bytes(), reduction=reduction_to_json(reduction)
    )


@pytest.fixture(scope="session")
def reference(onnx_model: Path, reduction: EmbeddingReduction) -> Reference:
    return Reference(onnx_model, reduction)


@pytest.fixture(scope="session")
def old_onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model exported before the embedding output: probabilities only."""
    return build_onnx_model(tmp_path_factory.mktemp("onnx-old") / "model.onnx")


@pytest.fixture(scope="session")
def old_artifact(tmp_path_factory: pytest.TempPathFactory, old_onnx_model: Path) -> Path:
    return write_artifact(tmp_path_factory.mktemp("artifact-old"), old_onnx_model.read_bytes(), version="2")


@pytest.fixture(scope="module")
def model_server(
    tmp_path_factory: pytest.TempPathFactory, serving_env: Path, artifact: Path
) -> Iterator[ModelServer]:
    """One model server on the good artifact, shared by the tests of one module (a module that
    needs another kind of server defines its own `model_server`)."""
    running = new_server(tmp_path_factory.mktemp("model-server"))
    running.start(str(artifact))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def own_server(tmp_path: Path, serving_env: Path) -> Iterator[ModelServer]:
    """A server (not started) with its own home and cache; stopped after the test."""
    server = new_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()
