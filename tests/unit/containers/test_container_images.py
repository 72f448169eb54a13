"""Every image the Dockerfiles define is built, with the CA bundle as a secret."""

from __future__ import annotations

import re
from pathlib import Path

from greenr.containers.images import IMAGES, TAG, ImageSpec, build_command
from greenr.settings import REPO_ROOT


def _final_targets(dockerfile: Path) -> set[str]:
    """Stages no other stage builds on (the images), by name."""
    text = dockerfile.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    names = {name for _, name in stages if name}
    parents = {base for base, _ in stages} | set(re.findall(r"--from=(\S+)", text))
    return names - parents


def test_every_image_target_of_the_dockerfiles_is_built() -> None:
    greenr = {spec.target for spec in IMAGES if spec.dockerfile == "docker/greenr.Dockerfile"}
    assert greenr == _final_targets(REPO_ROOT / "docker/greenr.Dockerfile") == {"api", "web", "pipelines"}
    assert [spec.dockerfile for spec in IMAGES if spec.target is None] == ["serving/Dockerfile"]


def test_the_images_carry_compose_yamls_default_tag() -> None:
    compose = (REPO_ROOT / "compose.yaml").read_text()
    for spec in IMAGES:
        assert f"image: {spec.name}:${{GREENR_IMAGE_TAG:-{TAG}}}" in compose, spec.name


def test_the_build_passes_the_target_and_the_ca_as_a_secret(tmp_path: Path) -> None:
    spec = ImageSpec("greenr-api", "docker/greenr.Dockerfile", "api")
    command = build_command(spec, tmp_path, Path("/etc/ssl/certs/ca-certificates.crt"))
    assert command[0] == "build"
    assert command[command.index("--format") + 1] == "docker"  # OCI images lose their HEALTHCHECK
    assert command[command.index("--file") + 1] == str(tmp_path / "docker/greenr.Dockerfile")
    assert command[command.index("--tag") + 1] == f"localhost/greenr-api:{TAG}"
    assert command[command.index("--target") + 1] == "api"
    assert command[command.index("--secret") + 1] == "id=ca,src=/etc/ssl/certs/ca-certificates.crt"
    assert command[-1] == str(tmp_path)


def test_without_a_ca_bundle_there_is_no_secret_and_no_target_for_the_model_server(tmp_path: Path) -> None:
    command = build_command(ImageSpec("greenr-model-server", "serving/Dockerfile"), tmp_path, None)
    assert "--secret" not in command
    assert "--target" not in command
