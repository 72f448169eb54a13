"""The environment the local deployer starts the model server in."""

from __future__ import annotations

import uuid
from pathlib import Path

from greenr.deployment.model_server_service import ModelServerConfig, ModelServerService


def _service(tmp_path: Path, environment: dict[str, str]) -> ModelServerService:
    service = ModelServerService(
        uuid=uuid.uuid4(),
        config=ModelServerConfig(
            model_name="greenr-classifier",
            model_version="1",
            model_uri=str(tmp_path / "v1"),
            port=9000,
            root_runtime_path=str(tmp_path / "model-server"),
            cache_dir=str(tmp_path / "cache"),
        ),
    )
    service.use_environment(environment)
    return service


def test_the_server_gets_the_model_and_one_openblas_thread(tmp_path: Path) -> None:
    env = _service(tmp_path, {"PATH": "/usr/bin"})._server_environment()
    assert env["MODEL_URI"] == str(tmp_path / "v1")
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["MALLOC_ARENA_MAX"] == "2"
    assert env["PATH"] == "/usr/bin"


def test_an_operator_setting_wins(tmp_path: Path) -> None:
    env = _service(tmp_path, {"OPENBLAS_NUM_THREADS": "2", "MALLOC_ARENA_MAX": "4"})._server_environment()
    assert (env["OPENBLAS_NUM_THREADS"], env["MALLOC_ARENA_MAX"]) == ("2", "4")
