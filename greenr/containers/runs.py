"""The three serving containers, up for real: side by side in one pod, then through podman-compose.

Both runs start the model server with the stand-in model mounted, the API (SQLite catalog on a
volume, the model server as its backend) and the web app, publish them on 127.0.0.1 only, and
check the same things: each answers its health route and its image's own HEALTHCHECK, the API
classifies a real photo with a key made by `python -m greenr.api.keys` inside its container, and
no container runs as root.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from greenr.containers.engine import LABEL, Podman, run_command
from greenr.containers.images import IMAGES, ImageSpec
from greenr.containers.probes import (
    API_KEY_NAME,
    ProbeError,
    check_non_root,
    classify,
    key_from_output,
    wait_for,
)

POD = "greenr-container-test"
COMPOSE_PROJECT = "greenr-container-test"
COMPOSE_OVERRIDE = "compose/container-test.yaml"
COMPOSE_SERVICES = ("model-server", "api", "web")
MODEL_MOUNT = "/models/champion"
START_TIMEOUT = 240.0  # the API imports its whole stack on a shared, busy machine
STOP_TIMEOUT = 10  # compose's and podman's default grace period before SIGKILL


@dataclass(frozen=True)
class Service:
    """One serving container: its image, the port it serves inside, the route that says it is up."""

    key: str
    image: ImageSpec
    port: int
    health_path: str


MODEL_SERVER, API, WEB = (
    Service("model-server", IMAGES[0], 9000, "/health/ping"),
    Service("api", IMAGES[1], 8000, "/health/ready"),
    Service("web", IMAGES[2], 8080, "/"),
)
SERVICES = (MODEL_SERVER, API, WEB)
POD_PORTS = {MODEL_SERVER.key: 31000, API.key: 31001, WEB.key: 31002}
# compose/container-test.yaml publishes these (a fact of that file; a unit test compares).
COMPOSE_PORTS = {MODEL_SERVER.key: 31010, API.key: 31011, WEB.key: 31012}


@dataclass
class RunReport:
    """What one run saw: seconds until each service answered, uids, the prediction."""

    how: str
    ready_seconds: dict[str, float] = field(default_factory=dict)
    uids: dict[str, int] = field(default_factory=dict)
    stop_seconds: dict[str, float] = field(default_factory=dict)
    """How long `podman stop` took per container (SIGTERM, then SIGKILL after STOP_TIMEOUT)."""
    prediction: dict[str, object] = field(default_factory=dict)


def hardened_args() -> list[str]:
    """compose.yaml's `x-hardened` settings, as `podman run` flags."""
    return ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--tmpfs=/tmp"]


def pod_run_args(service: Service, model_dir: Path) -> list[str]:
    """`podman run` arguments of one service in the pod (services reach each other on localhost)."""
    name = f"{POD}-{service.key}"
    args = ["run", "--detach", "--pod", POD, "--name", name, "--label", LABEL, *hardened_args()]
    env: dict[str, str] = {}
    if service is MODEL_SERVER:
        args += [
            "--init",
            "--volume",
            f"{model_dir}:{MODEL_MOUNT}:ro",
            "--volume",
            f"{name}:/var/cache/greenr",
        ]
        env = {"MODEL_URI": MODEL_MOUNT, "GREENR_INTRA_OP_SPINNING": "false"}
    elif service is API:
        args += ["--volume", f"{name}:/var/lib/greenr"]
        env = {"GREENR_MODEL_SERVER_URL": f"http://127.0.0.1:{MODEL_SERVER.port}"}
    else:
        args += ["--volume", f"{name}:/var/lib/greenr"]
        env = {"GREENR_API_URL": f"http://127.0.0.1:{API.port}"}
    for variable, value in env.items():
        args += ["--env", f"{variable}={value}"]
    return [*args, service.image.reference()]


def pod_create_args(ports: Mapping[str, int]) -> list[str]:
    published = [f"--publish=127.0.0.1:{ports[s.key]}:{s.port}" for s in SERVICES]
    return ["pod", "create", "--name", POD, "--label", LABEL, *published]


def check_services(
    podman: Podman, containers: Mapping[str, str], ports: Mapping[str, int], photo: Path, report: RunReport
) -> None:
    """The checks both runs share, on running containers (`containers`: service key -> name)."""
    for service in SERVICES:
        url = f"http://127.0.0.1:{ports[service.key]}{service.health_path}"
        name = containers[service.key]
        answered = wait_for(url, START_TIMEOUT, gone=partial(podman.exit_reason, name))
        report.ready_seconds[service.key] = round(answered.seconds, 1)
        # The image's own HEALTHCHECK, run by podman inside the container.
        podman.run(["healthcheck", "run", containers[service.key]], timeout=60)
        report.uids[service.key] = podman.exec_uid(containers[service.key])
        check_non_root(containers[service.key], report.uids[service.key])
    created = podman.run(
        [
            "exec",
            containers[API.key],
            "python",
            "-m",
            "greenr.api.keys",
            "create",
            "--name",
            API_KEY_NAME,
            "--role",
            "predict",
        ],
        timeout=180,
    )
    key = key_from_output(created)
    report.prediction = classify(f"http://127.0.0.1:{ports[API.key]}", key, photo)
    # Clients first, so that no service is stopped while another still calls it.
    for service in reversed(SERVICES):
        started = time.monotonic()
        podman.run(["stop", "--time", str(STOP_TIMEOUT), containers[service.key]], timeout=STOP_TIMEOUT + 60)
        report.stop_seconds[service.key] = round(time.monotonic() - started, 1)


def pod_run(podman: Podman, model_dir: Path, photo: Path, log: Callable[[str], None]) -> RunReport:
    """Start the pod and its three containers, check them; the caller removes them (clean)."""
    report = RunReport("podman run (one pod)")
    podman.run(pod_create_args(POD_PORTS))
    containers = {}
    for service in SERVICES:
        podman.run(["volume", "create", "--label", LABEL, f"{POD}-{service.key}"])
        podman.run(pod_run_args(service, model_dir))
        containers[service.key] = f"{POD}-{service.key}"
        log(f"started {containers[service.key]} ({service.image.reference()})")
    check_services(podman, containers, POD_PORTS, photo, report)
    return report


def compose_command(repo: Path, *args: str) -> list[str]:
    """podman-compose over compose.yaml and the test's override, in the test's own project."""
    return [
        sys.executable,
        "-m",
        "podman_compose",
        "--project-name",
        COMPOSE_PROJECT,
        "--env-file",
        str(repo / ".env.example"),
        "--file",
        str(repo / "compose.yaml"),
        "--file",
        str(repo / COMPOSE_OVERRIDE),
        *args,
    ]


def compose_run(
    podman: Podman,
    repo: Path,
    model_dir: Path,
    photo: Path,
    env: Mapping[str, str],
    log: Callable[[str], None],
) -> RunReport:
    """`podman-compose up` of the project's three services only, checked; `compose_down` ends it."""
    report = RunReport("podman-compose up")
    started = time.monotonic()
    run_command_env(compose_command(repo, "up", "--detach", "--no-build", *COMPOSE_SERVICES), env)
    log(f"podman-compose up returned after {time.monotonic() - started:.1f} s")
    containers = {service.key: compose_container(podman, service.key) for service in SERVICES}
    check_services(podman, containers, COMPOSE_PORTS, photo, report)
    return report


def compose_container(podman: Podman, service: str) -> str:
    """The name of the running container of a compose service in the test's project."""
    names = podman.run(
        [
            "ps",
            "--filter",
            f"label=io.podman.compose.project={COMPOSE_PROJECT}",
            "--filter",
            f"label=io.podman.compose.service={service}",
            "--format",
            "{{.Names}}",
        ]
    ).split()
    if len(names) != 1:
        raise ProbeError(f"podman-compose started {len(names)} containers for {service}, expected 1")
    return names[0]


def run_command_env(command: list[str], env: Mapping[str, str]) -> str:
    """A command with extra environment variables (compose interpolates the model folder)."""
    return run_command(["env", *(f"{name}={value}" for name, value in env.items()), *command], timeout=900)
