"""The stand-in base image's recipe, checked without podman or debootstrap running."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenr.containers.images import IMAGES
from greenr.containers.stand_in_base import (
    DEFAULT_MIRROR,
    PACKAGES,
    canonical_name,
    debian_mirror,
    debootstrap_command,
    dockerfile_base,
    finish_root,
)
from greenr.settings import REPO_ROOT

DEBIAN_SOURCES = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
"""


def test_the_committed_dockerfiles_share_the_official_base() -> None:
    dockerfiles = [REPO_ROOT / spec.dockerfile for spec in IMAGES]
    assert dockerfile_base(dockerfiles) == "docker.io/library/python:3.11.7-slim-bookworm"


def test_stage_names_are_not_bases(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim AS builder\nRUN true\nFROM builder AS api\n")
    assert dockerfile_base([dockerfile]) == "docker.io/library/python:3.11-slim"


def test_dockerfiles_with_different_bases_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.Dockerfile", tmp_path / "b.Dockerfile"
    first.write_text("FROM python:3.11-slim\n")
    second.write_text("FROM debian:bookworm\n")
    with pytest.raises(ValueError, match="one base image"):
        dockerfile_base([first, second])


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("python:3.11.7-slim-bookworm", "docker.io/library/python:3.11.7-slim-bookworm"),
        ("minio/mc:latest", "docker.io/minio/mc:latest"),
        ("quay.io/minio/minio:x", "quay.io/minio/minio:x"),
        ("localhost/greenr-api:0.1.0", "localhost/greenr-api:0.1.0"),
        ("registry:5000/a/b:1", "registry:5000/a/b:1"),
    ],
)
def test_short_names_are_qualified_as_podman_stores_them(name: str, stored: str) -> None:
    assert canonical_name(name) == stored


def test_the_mirror_is_the_main_archive_not_security() -> None:
    assert debian_mirror(DEBIAN_SOURCES) == "http://deb.debian.org/debian"
    assert debian_mirror("URIs: http://deb.debian.org/debian-security\n") == DEFAULT_MIRROR
    assert debian_mirror("") == DEFAULT_MIRROR


def test_debootstrap_installs_the_python_the_dockerfiles_use(tmp_path: Path) -> None:
    command = debootstrap_command(tmp_path / "root", "http://mirror.example/debian")
    assert command[:2] == ["debootstrap", "--variant=minbase"]
    assert command[-3:] == ["bookworm", str(tmp_path / "root"), "http://mirror.example/debian"]
    included = next(arg for arg in command if arg.startswith("--include=")).split("=", 1)[1].split(",")
    # python -m venv (greenr.Dockerfile) and pip into the system Python (serving/Dockerfile).
    assert {"python3", "python3-venv", "python3-pip"} <= set(included) == set(PACKAGES)


def test_the_root_gets_python_and_pip_on_the_path_and_no_pep668_marker(tmp_path: Path) -> None:
    marker = tmp_path / "usr/lib/python3.11/EXTERNALLY-MANAGED"
    marker.parent.mkdir(parents=True)
    marker.write_text("[externally-managed]\n")
    package = tmp_path / "var/cache/apt/archives/python3_3.11.2_amd64.deb"
    package.parent.mkdir(parents=True)
    package.write_bytes(b"deb")
    (tmp_path / "var/cache/apt/archives/partial").mkdir()
    listing = tmp_path / "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"
    listing.parent.mkdir(parents=True)
    listing.write_text("x")

    finish_root(tmp_path)
    finish_root(tmp_path)  # again: nothing fails on a finished tree

    assert not marker.exists()
    assert not package.exists()
    assert not listing.exists()
    assert (tmp_path / "var/cache/apt/archives/partial").is_dir()
    assert str((tmp_path / "usr/local/bin/python").readlink()) == "/usr/bin/python3"
    assert str((tmp_path / "usr/local/bin/pip").readlink()) == "/usr/bin/pip3"
