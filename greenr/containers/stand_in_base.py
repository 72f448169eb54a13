"""The stand-in for the official Python base image, made from Debian's own packages.

No image registry is reachable here (docs/PLATFORM.md, "Containers"), so the `FROM` image of the
Dockerfiles is made locally and tagged with the official name; the committed Dockerfiles keep the
official `FROM`. It is Debian bookworm (minbase) with its Python 3.11 (3.11.2, where the official
image has 3.11.7), venv and pip, `python`/`pip` on the PATH as in the official image, and pip
allowed to install into the system Python (the official image's Python is not Debian's, so it has
no PEP 668 marker: serving/Dockerfile installs there).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from greenr.containers.engine import EngineError, Podman, run_command

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
# What the official image sets that the Dockerfiles rely on (a UTF-8 locale for Python's I/O).
IMAGE_CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["python3"]')


@dataclass(frozen=True)
class BaseResult:
    image: str
    origin: str
    """"kept" (in the image store), "loaded" (from the archive) or "made" (debootstrap)."""
    seconds: float
    size_bytes: int


def dockerfile_base(dockerfiles: list[Path]) -> str:
    """The one base image every `FROM` of these Dockerfiles names (stages aside).

    Raises:
        ValueError: the Dockerfiles name no base or different ones.
    """
    bases: set[str] = set()
    for dockerfile in dockerfiles:
        stages: set[str] = set()
        for match in re.finditer(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile.read_text(), re.M | re.I):
            if match.group(1) not in stages:
                bases.add(match.group(1))
            if match.group(2):
                stages.add(match.group(2))
    if len(bases) != 1:
        raise ValueError(f"the Dockerfiles must share one base image, they name {sorted(bases) or 'none'}")
    return canonical_name(bases.pop())


def canonical_name(image: str) -> str:
    """The fully qualified name podman stores a Docker Hub short name under."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


def debian_mirror(sources: str) -> str:
    """The first `URIs:` of a deb822 sources file naming the main archive (not -security)."""
    for match in re.finditer(r"^URIs:\s*(\S+)", sources, re.M):
        if not match.group(1).rstrip("/").endswith("-security"):
            return match.group(1)
    return DEFAULT_MIRROR


def debootstrap_command(target: Path, mirror: str) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(target),
        mirror,
    ]


def finish_root(root: Path) -> None:
    """Make the debootstrapped tree look like the official image where the Dockerfiles notice."""
    for marker in root.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    local_bin = root / "usr/local/bin"
    local_bin.mkdir(parents=True, exist_ok=True)
    for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        link = local_bin / name
        if not link.is_symlink():
            link.symlink_to(target)
    # apt-get clean, and no package lists: the image is rebuilt from scratch, never upgraded.
    for folder in (root / "var/cache/apt/archives", root / "var/lib/apt/lists"):
        for entry in folder.glob("*"):
            if entry.is_file():
                entry.unlink()


def import_root(podman: Podman, root: Path, image: str) -> None:
    """`tar -C root -c . | podman import - image`, with the official image's settings."""
    changes = [arg for change in IMAGE_CHANGES for arg in ("--change", change)]
    with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
        imported = subprocess.run(
            [podman.executable, "import", *changes, "-", image],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
    if tar.returncode != 0 or imported.returncode != 0:
        raise EngineError(f"importing the stand-in base failed: {imported.stderr.strip()[-2000:]}")


def ensure_base(podman: Podman, image: str, workdir: Path, mirror: str, archive: Path | None) -> BaseResult:
    """The stand-in base image: kept when present, else loaded from `archive` (a CI cache), else
    debootstrapped and imported (then saved to `archive`, when given)."""
    started = time.monotonic()

    def result(origin: str) -> BaseResult:
        return BaseResult(image, origin, time.monotonic() - started, podman.image_size(image))

    if podman.image_exists(image):
        return result("kept")
    if archive is not None and archive.is_file():
        podman.run(["load", "--input", str(archive)], timeout=600)
        if podman.image_exists(image):
            return result("loaded")
    if shutil.which("debootstrap") is None:
        raise EngineError("debootstrap is not installed: apt-get install -y debootstrap (docs/PLATFORM.md)")
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="base-") as scratch:
        root = Path(scratch) / "root"
        run_command(["nice", "-n", "15", *debootstrap_command(root, mirror)], timeout=1800)
        finish_root(root)
        import_root(podman, root, image)
    if archive is not None:
        archive.parent.mkdir(parents=True, exist_ok=True)
        podman.run(["save", "--output", str(archive), image], timeout=600)
    return result("made")
