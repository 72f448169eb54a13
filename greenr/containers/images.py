"""The project's four images: how each is built, and what its build cost (time, size)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from greenr.containers.engine import BUILD_NICENESS, EngineError, Podman

TAG = "0.1.0"
"""compose.yaml's default GREENR_IMAGE_TAG: the compose run uses these very images."""

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
"""This machine's CA bundle (a TLS-intercepting proxy's CA is in it): pip's, as a build secret."""


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dockerfile: str
    target: str | None = None

    def reference(self, tag: str = TAG) -> str:
        return f"localhost/{self.name}:{tag}"


# The model server first: it is small and says at once whether the base works.
IMAGES = (
    ImageSpec("greenr-model-server", "serving/Dockerfile"),
    ImageSpec("greenr-api", "docker/greenr.Dockerfile", "api"),
    ImageSpec("greenr-web", "docker/greenr.Dockerfile", "web"),
    ImageSpec("greenr-pipelines", "docker/greenr.Dockerfile", "pipelines"),
)


@dataclass(frozen=True)
class BuildResult:
    image: str
    seconds: float
    size_bytes: int


def build_command(spec: ImageSpec, context: Path, ca_bundle: Path | None, tag: str = TAG) -> list[str]:
    """`podman build` arguments of one image (layer cache on: reruns rebuild only what changed)."""
    # Docker's image format: podman's default (OCI) has no HEALTHCHECK and drops it with a warning.
    args = [
        "build",
        "--format",
        "docker",
        "--file",
        str(context / spec.dockerfile),
        "--tag",
        spec.reference(tag),
    ]
    if spec.target:
        args += ["--target", spec.target]
    if ca_bundle is not None:
        args += ["--secret", f"id=ca,src={ca_bundle}"]
    return [*args, str(context)]


def build_image(
    podman: Podman, spec: ImageSpec, context: Path, log: Path, ca_bundle: Path | None
) -> BuildResult:
    """Build one image, its output into `log`; its time and size.

    Raises:
        EngineError: the build failed, or it ended without the image (podman can exit 0 then).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    command = ["nice", "-n", str(BUILD_NICENESS), podman.executable, *build_command(spec, context, ca_bundle)]
    started = time.monotonic()
    with log.open("w") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False, timeout=3600)
    seconds = time.monotonic() - started
    if done.returncode != 0 or not podman.image_exists(spec.reference()):
        raise EngineError(f"building {spec.name} failed (exit {done.returncode}): see {log}")
    return BuildResult(spec.reference(), seconds, podman.image_size(spec.reference()))
