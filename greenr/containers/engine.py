"""The container engine as this harness calls it: podman, with every resource it makes labelled so
that a clean-up finds them all, even after a crash."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LABEL = "greenr.container-test=1"
"""Put on every container, pod and volume this harness starts: what `clean` removes."""

BUILD_NICENESS = 15
"""Image builds are the heavy part and share the machine's two cores with other work."""


class EngineError(RuntimeError):
    """A podman command failed; the message ends with its own error output."""


@dataclass(frozen=True)
class Podman:
    """Runs podman (or podman-compose) commands and returns their output."""

    executable: str = "podman"

    def run(self, args: Sequence[str], timeout: float = 600, niceness: int = 0) -> str:
        """Run `podman ARGS`; its standard output, or EngineError with the end of its errors."""
        command = [self.executable, *args]
        if niceness:
            command = ["nice", "-n", str(niceness), *command]
        return run_command(command, timeout)

    def image_exists(self, image: str) -> bool:
        return subprocess.run([self.executable, "image", "exists", image], check=False).returncode == 0

    def image_size(self, image: str) -> int:
        """Size in bytes of a local image (all its layers, as `podman images` counts it)."""
        return int(self.run(["image", "inspect", "--format", "{{.Size}}", image]).strip())

    def inspect(self, name: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(self.run(["inspect", name]))
        return found[0]

    def exit_reason(self, container: str) -> str | None:
        """Why a container no longer runs ("exited with code 1"), or None while it runs."""
        state = self.run(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container]).split()
        if state and state[0] in ("exited", "stopped", "dead"):
            return f"container {container} {state[0]} with code {state[1] if len(state) > 1 else '?'}"
        return None

    def exec_uid(self, container: str) -> int:
        """The uid a command runs as in a running container (its configured user)."""
        return int(self.run(["exec", container, "id", "-u"]).strip())

    def labelled(self, kind: str, label: str = LABEL) -> list[str]:
        """Names of the containers, pods, volumes or networks (`kind`) that carry `label`."""
        listing = {
            "container": ["ps", "--all"],
            "pod": ["pod", "ps"],
            "volume": ["volume", "ls"],
            "network": ["network", "ls"],
        }[kind]
        field = "{{.Names}}" if kind == "container" else "{{.Name}}"
        output = self.run([*listing, "--filter", f"label={label}", "--format", field])
        return [line for line in output.splitlines() if line.strip()]


def run_command(command: Sequence[str], timeout: float = 600) -> str:
    """Run a command; its standard output, or EngineError naming it with the end of its errors."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise EngineError(f"{' '.join(command[:4])} ... did not finish in {timeout:.0f} s") from error
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        raise EngineError(f"{' '.join(command[:6])} ... exited {done.returncode}: {tail}")
    return done.stdout
