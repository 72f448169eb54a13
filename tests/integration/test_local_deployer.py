"""The local stacks' model deployer with real processes: ZenML's record of the server and the
gunicorn process behind it. Deploying starts a server, replaces it for a new version, leaves it
alone for the same one; `python -m greenr.deployment` stops it, reports it and starts it again
(after a stop, and after its processes were killed as a reboot would); `zenml model-deployer`
shows it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_python
from http_kit import free_port
from model_server_kit import process_group, write_artifact

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The model server's own environment and a small model artifact (version "3").
pytest_plugins = ["model_server_fixtures"]


def deploy(env: dict[str, str], *pairs: str) -> list[dict[str, Any]]:
    result = run_python(["tests/deploy_artifact.py", *pairs], env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def served(port: int) -> dict[str, Any]:
    from greenr.deployment.model_server_service import serving_status

    status = serving_status(f"http://127.0.0.1:{port}")
    assert status is not None, f"nothing answers on {port}"
    return status.model_dump()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def deployment(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return run_python(["-m", "greenr.deployment", command], env)


def zenml(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "zenml"), *args],
        env={**os.environ, **env, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr  # its tables go to either, depending on the command


def server_group(home: Path, service_id: str) -> int:
    """The process group of the server's gunicorn master (its log writer leads it)."""
    return os.getpgid(int((home / "model-server" / service_id / "service.pid").read_text()))


def test_the_local_deployer_runs_the_served_model(tmp_path: Path, serving_env: Path, artifact: Path) -> None:
    home = Path(os.environ["GREENR_HOME"])
    port = free_port()
    env = {"GREENR_MODEL_SERVER_PORT": str(port), "ZENML_CONFIG_PATH": str(home / "zenml")}
    registered = run_python(["-m", "stacks", "register", "--stack", "local", "--activate", "local"], env)
    assert registered.returncode == 0, registered.stderr[-3000:]
    assert "created  flavor greenr-model-server" in registered.stdout
    assert "created  model_deployer greenr-local-model-server" in registered.stdout
    model = (artifact / "model.onnx").read_bytes()
    version_4 = write_artifact(tmp_path / "v4", model, version="4")
    try:
        # Started, answering, recorded by ZenML with its URL and version.
        (first,) = deploy(env, f"3={artifact}")
        assert first["action"] == "started"
        assert first["prediction_url"] == f"http://127.0.0.1:{port}/api/v1.0/predictions"
        assert served(port)["version"] == "3"
        status = deployment(env, "status")
        assert status.returncode == 0, status.stderr[-2000:]
        assert f"greenr-classifier version 3 at http://127.0.0.1:{port}: running" in status.stdout
        listed = zenml(env, "model-deployer", "models", "list")
        assert first["service_id"] in listed
        assert "greenr-model-server" in listed
        described = zenml(env, "model-deployer", "models", "describe", first["service_id"])
        assert f"http://127.0.0.1:{port}/api/v1.0/predictions" in described
        assert "MODEL_VERSION" in described
        first_group = server_group(home, first["service_id"])

        # A new version replaces the server; the same version again leaves it alone.
        second, third = deploy(env, f"4={version_4}", f"4={version_4}")
        assert second["action"] == "replaced"
        assert second["service_id"] != first["service_id"]
        assert (third["action"], third["service_id"]) == ("unchanged", second["service_id"])
        assert served(port)["version"] == "4"
        assert process_group(first_group) == []
        assert not (home / "model-server" / first["service_id"]).exists()
        second_group = server_group(home, second["service_id"])
        # The log writer (serving/log_writer.py), gunicorn's master and its worker.
        assert len(process_group(second_group)) == 3

        # Stopped: every process gone, the port free, and the status says how to start again.
        stopped = deployment(env, "stop")
        assert stopped.returncode == 0, stopped.stderr[-2000:]
        assert process_group(second_group) == []
        assert not listening(port)
        after_stop = deployment(env, "status")
        assert after_stop.returncode == 3
        assert f"greenr-classifier version 4 at http://127.0.0.1:{port}: stopped" in after_stop.stdout
        assert "python -m greenr.deployment start" in after_stop.stdout

        # One command serves it again, on the artifact it was deployed with.
        started = deployment(env, "start")
        assert started.returncode == 0, started.stderr[-2000:]
        assert served(port)["version"] == "4"

        # Killed as by a reboot: reported as not running, and one command brings it back.
        os.killpg(server_group(home, second["service_id"]), signal.SIGKILL)
        crashed = deployment(env, "status")
        assert crashed.returncode == 3
        assert "the model server is not running" in crashed.stdout
        assert deployment(env, "start").returncode == 0
        assert served(port)["version"] == "4"

        # A new version whose model cannot be read: the server falls back to its cached copy
        # (of version 4), and the status says so.
        broken = write_artifact(tmp_path / "v5", model + b"new", version="5")
        (broken / "model.onnx").write_bytes(model[:100])
        (fifth,) = deploy(env, f"5={broken}")
        assert fifth["action"] == "replaced"
        assert served(port)["fallback"] is True
        degraded = deployment(env, "status")
        assert degraded.returncode == 0
        assert "version 5" in degraded.stdout
        assert "FALLBACK: serving the cached copy of version 4" in degraded.stdout
    finally:
        deployment(env, "stop")
    assert deployment(env, "status").returncode == 3
    assert not listening(port)
