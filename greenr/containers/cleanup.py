"""Remove everything a run started: the pod's containers and volumes, the compose project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from greenr.containers.engine import LABEL, EngineError, Podman, run_command
from greenr.containers.runs import COMPOSE_PROJECT, compose_command

COMPOSE_LABEL = f"io.podman.compose.project={COMPOSE_PROJECT}"


def clean(podman: Podman, repo: Path, model_dir: Path, log: Callable[[str], None]) -> list[str]:
    """Stop and remove what the runs made; the errors met (a clean-up keeps going past them)."""
    errors = []
    try:
        # down needs the model folder variable only because compose interpolates the whole file.
        run_command(
            ["env", f"GREENR_TEST_MODEL_DIR={model_dir}", *compose_command(repo, "down", "--volumes")]
        )
    except EngineError as error:
        errors.append(str(error))
    for label in (LABEL, COMPOSE_LABEL):
        # Pods first: removing one removes its containers (its infra container cannot go alone).
        for kind, remove in (
            ("pod", ["pod", "rm", "--force"]),
            ("container", ["rm", "--force", "--time", "10"]),
            ("volume", ["volume", "rm", "--force"]),
            ("network", ["network", "rm", "--force"]),
        ):
            try:
                found = podman.labelled(kind, label)
                if found:
                    podman.run([*remove, *found], timeout=120)
                    log(f"removed {len(found)} {kind}(s) labelled {label}")
            except EngineError as error:
                errors.append(str(error))
    return errors


def last_logs(podman: Podman, lines: int = 25) -> str:
    """The last lines of every container a run started (printed when a check failed)."""
    parts = []
    for label in (LABEL, COMPOSE_LABEL):
        for name in podman.labelled("container", label):
            try:
                output = podman.run(["logs", "--tail", str(lines), name], timeout=30)
            except EngineError as error:
                output = str(error)
            parts.append(f"--- {name}\n{output.rstrip()}")
    return "\n".join(parts)
