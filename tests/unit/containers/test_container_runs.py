"""How the serving containers are started: hardened like compose.yaml, published on 127.0.0.1
only, and the compose override starts exactly the project's services, as both compose tools read it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_tools import require_podman, run_tool

from greenr.containers.engine import LABEL, EngineError, run_command
from greenr.containers.images import IMAGES
from greenr.containers.runs import (
    API,
    COMPOSE_OVERRIDE,
    COMPOSE_PORTS,
    COMPOSE_SERVICES,
    MODEL_MOUNT,
    MODEL_SERVER,
    POD_PORTS,
    SERVICES,
    WEB,
    compose_command,
    pod_create_args,
    pod_run_args,
)
from greenr.settings import REPO_ROOT

OWN_PORTS = range(31000, 31100)  # the ports this machine gives the container test


def _values(args: list[str], flag: str) -> list[str]:
    return [value.split("=", 1)[1] for value in args if value.startswith(f"{flag}=")] + [
        args[i + 1] for i, value in enumerate(args[:-1]) if value == flag
    ]


def test_the_pod_publishes_each_service_on_127_0_0_1_only() -> None:
    published = _values(pod_create_args(POD_PORTS), "--publish")
    assert sorted(published) == sorted(
        f"127.0.0.1:{POD_PORTS[service.key]}:{service.port}" for service in SERVICES
    )
    assert set(POD_PORTS.values()) | set(COMPOSE_PORTS.values()) <= set(OWN_PORTS)
    assert not set(POD_PORTS.values()) & set(COMPOSE_PORTS.values())


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.key)
def test_each_container_runs_hardened_labelled_and_from_its_image(service: Any, tmp_path: Path) -> None:
    args = pod_run_args(service, tmp_path)
    assert {"--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--tmpfs=/tmp"} <= set(args)
    assert LABEL in _values(args, "--label")
    assert args[-1] == service.image.reference()
    assert "--user" not in args  # the image's own USER is what the test checks


def test_the_services_find_each_other_and_the_model(tmp_path: Path) -> None:
    model_server = pod_run_args(MODEL_SERVER, tmp_path)
    assert f"{tmp_path}:{MODEL_MOUNT}:ro" in _values(model_server, "--volume")
    assert f"MODEL_URI={MODEL_MOUNT}" in _values(model_server, "--env")
    assert "--init" in model_server  # compose.yaml's init: true
    assert f"GREENR_MODEL_SERVER_URL=http://127.0.0.1:{MODEL_SERVER.port}" in _values(
        pod_run_args(API, tmp_path), "--env"
    )
    assert f"GREENR_API_URL=http://127.0.0.1:{API.port}" in _values(pod_run_args(WEB, tmp_path), "--env")
    assert [service.image for service in SERVICES] == list(IMAGES[:3])


def _compose_env(model_dir: Path) -> dict[str, str]:
    # A clean environment: the developer's POSTGRES_PASSWORD etc. must not decide the result.
    return {"PATH": os.environ["PATH"], "HOME": str(model_dir), "GREENR_TEST_MODEL_DIR": str(model_dir)}


def _check_resolved(services: dict[str, Any], model_dir: Path) -> None:
    for service in SERVICES:
        ports = services[service.key]["ports"]
        published = [
            f"{port['host_ip']}:{port['published']}:{port['target']}" if isinstance(port, dict) else port
            for port in ports
        ]
        assert published == [f"127.0.0.1:{COMPOSE_PORTS[service.key]}:{service.port}"], service.key
    model_server = services["model-server"]
    assert model_server["environment"]["MODEL_URI"] == MODEL_MOUNT
    assert not model_server.get("depends_on")
    mounts = json.dumps(model_server["volumes"])
    assert str(model_dir) in mounts
    assert MODEL_MOUNT in mounts
    assert list(services["api"]["depends_on"]) == ["model-server"]
    api = services["api"]["environment"]
    assert api["GREENR_DATABASE_URL"].startswith("sqlite:///")
    assert api["GREENR_MODEL_SERVER_URL"] == f"http://model-server:{MODEL_SERVER.port}"
    # compose.yaml's hardening stays.
    for name in COMPOSE_SERVICES:
        assert services[name]["read_only"] is True
        assert services[name]["cap_drop"] == ["ALL"]


def test_podman_compose_reads_the_override_as_the_test_needs_it(tmp_path: Path) -> None:
    require_podman()
    done = subprocess.run(
        compose_command(REPO_ROOT, "config"),
        env=_compose_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _check_resolved(yaml.safe_load(done.stdout)["services"], tmp_path)


def test_docker_compose_reads_the_override_the_same_way(tmp_path: Path) -> None:
    result = run_tool(
        "docker-compose",
        "--project-directory",
        REPO_ROOT,
        "-f",
        REPO_ROOT / "compose.yaml",
        "-f",
        REPO_ROOT / COMPOSE_OVERRIDE,
        "--env-file",
        REPO_ROOT / ".env.example",
        "config",
        "--format",
        "json",
        *COMPOSE_SERVICES,
        cwd=REPO_ROOT,
        env=_compose_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    # Asked for the project's three services, compose needs no third-party one.
    assert set(services) == set(COMPOSE_SERVICES)
    _check_resolved(services, tmp_path)


def test_the_override_needs_the_model_folder(tmp_path: Path) -> None:
    require_podman()
    env = _compose_env(tmp_path)
    del env["GREENR_TEST_MODEL_DIR"]
    done = subprocess.run(
        compose_command(REPO_ROOT, "config"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "GREENR_TEST_MODEL_DIR" in done.stderr + done.stdout


def test_a_failed_command_is_an_error_naming_it() -> None:
    assert run_command([sys.executable, "-c", "print('fine')"]) == "fine\n"
    with pytest.raises(EngineError, match=r"exited 3: broken"):
        run_command([sys.executable, "-c", "import sys; print('broken', file=sys.stderr); sys.exit(3)"])
