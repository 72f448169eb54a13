"""Building the Kubernetes overlays offline, the way `kubectl apply -k` would, for the tests.

The overlays read git-ignored secret env files (secrets/*.env): the build runs on a copy of k8s/
and monitoring/ whose env files are the committed examples, so a developer's real secrets are
never read and CI (which has none) builds the same documents.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from deploy_tools import run_tool

from greenr.settings import REPO_ROOT

K8S = REPO_ROOT / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}


def build_overlay(overlay: str, workdir: Path) -> list[dict[str, Any]]:
    """The documents of `kubectl kustomize k8s/overlays/<overlay>`, with example secrets."""
    root = workdir / overlay
    if not root.exists():
        shutil.copytree(K8S, root / "k8s", ignore=shutil.ignore_patterns("*.env"))
        shutil.copytree(REPO_ROOT / "monitoring", root / "monitoring")
        for example in (root / "k8s" / "overlays").glob("*/secrets/*.env.example"):
            shutil.copyfile(example, example.with_suffix(""))
    result = run_tool("kubectl", "kustomize", root / "k8s" / "overlays" / overlay)
    assert result.returncode == 0, f"kubectl kustomize k8s/overlays/{overlay} failed:\n{result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def pod_specs(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs a workload document runs (several for a SeldonDeployment)."""
    if document["kind"] in WORKLOAD_KINDS:
        return [document["spec"]["template"]["spec"]]
    if document["kind"] == "SeldonDeployment":
        return [
            component["spec"]
            for predictor in document["spec"]["predictors"]
            for component in predictor.get("componentSpecs", [])
        ]
    return []
