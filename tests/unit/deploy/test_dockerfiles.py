"""The Dockerfiles checked offline: hadolint-clean, the official base pinned by exact tag, every
final image runs as an unprivileged user, servers declare a HEALTHCHECK, and .dockerignore keeps
state, environments, data and secrets out of the build context. The images are not built here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deploy_tools import run_tool

from greenr.settings import REPO_ROOT

DOCKERFILES = [REPO_ROOT / "docker" / "greenr.Dockerfile", REPO_ROOT / "serving" / "Dockerfile"]
# Final images and whether they serve (HEALTHCHECK expected).
TARGETS = {"api": True, "web": True, "pipelines": False}
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm$")


def stages(dockerfile: Path) -> dict[str, list[str]]:
    """Instruction lines of each stage (continuations joined), by stage name ('' when unnamed)."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            parts = line.split()
            current = parts[3] if len(parts) >= 4 and parts[2].upper() == "AS" else ""
            found[current] = [line]
        else:
            found[current].append(line)
    return found


def effective(name: str, all_stages: dict[str, list[str]]) -> list[str]:
    """The instructions of a stage, with those of the stages it is built FROM."""
    lines = all_stages[name]
    parent = lines[0].split()[1]
    return effective(parent, all_stages) + lines[1:] if parent in all_stages else lines


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = run_tool("hadolint", "--no-color", dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run_tool("hadolint", "--no-color", bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_bases_are_official_python_pinned_by_exact_tag(dockerfile: Path) -> None:
    all_stages = stages(dockerfile)
    for lines in all_stages.values():
        base = lines[0].split()[1]
        assert base in all_stages or PINNED_BASE.match(base), f"{dockerfile}: base {base} is not pinned"


def test_every_final_image_runs_unprivileged_and_servers_have_a_healthcheck() -> None:
    main = stages(DOCKERFILES[0])
    images = {target: effective(target, main) for target in TARGETS}
    images["model-server"] = stages(DOCKERFILES[1])[""]
    for name, lines in images.items():
        users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
        assert users, f"{name}: no USER"
        assert users[-1] not in {"root", "0"}, f"{name}: runs as root"
        serves = TARGETS.get(name, True)
        assert any(line.startswith("HEALTHCHECK ") for line in lines) == serves, name
        assert any(line.startswith("CMD ") for line in lines), name


def test_the_builder_stage_stays_out_of_the_final_images() -> None:
    main = stages(DOCKERFILES[0])
    for target in TARGETS:
        lines = effective(target, main)
        assert lines[0].split()[1].startswith("python:"), target
        assert all("pip install" not in line for line in lines), f"{target} installs in its own layers"


def test_dockerignore_keeps_state_environments_data_and_secrets_out() -> None:
    patterns = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".greenr", ".venv", ".venv-serving", ".git", "data", ".env", "**/*.env"} <= patterns
