"""The cluster stack's pipeline settings: accepted by ZenML's own settings classes, and naming
the image, service account and pod label that k8s/ and docker/ define."""

from __future__ import annotations

import yaml
from zenml.config import DockerSettings
from zenml.integrations.kubernetes.flavors.kubernetes_orchestrator_flavor import (
    KubernetesOrchestratorSettings,
)

from greenr.deployment.cluster_run_settings import (
    PIPELINES_IMAGE,
    POD_LABELS,
    SERVICE_ACCOUNT,
    cluster_run_settings,
)
from greenr.settings import REPO_ROOT


def test_zenml_accepts_the_settings() -> None:
    settings = cluster_run_settings("registry.example:5000")
    docker = DockerSettings.model_validate(settings["docker"])
    assert docker.parent_image == f"registry.example:5000/{PIPELINES_IMAGE}"
    assert not docker.install_stack_requirements
    kubernetes = KubernetesOrchestratorSettings.model_validate(settings["orchestrator.kubernetes"])
    assert kubernetes.service_account_name == SERVICE_ACCOUNT
    assert kubernetes.pod_settings is not None
    assert kubernetes.pod_settings.labels == POD_LABELS
    assert kubernetes.pod_settings.additional_pod_spec_args["securityContext"]["runAsNonRoot"] is True


def test_the_names_are_those_of_the_manifests_and_the_dockerfile() -> None:
    rbac = list(yaml.safe_load_all((REPO_ROOT / "k8s/base/rbac.yaml").read_text()))
    (account,) = [d for d in rbac if d["kind"] == "ServiceAccount"]
    assert account["metadata"]["name"] == SERVICE_ACCOUNT
    (label,) = POD_LABELS.items()
    assert f'{label[0]}: "{label[1]}"' in (REPO_ROOT / "k8s/base/network-policies.yaml").read_text()
    assert "AS pipelines" in (REPO_ROOT / "docker/greenr.Dockerfile").read_text()
    name, tag = PIPELINES_IMAGE.split(":")
    overlay = yaml.safe_load((REPO_ROOT / "k8s/overlays/production/kustomization.yaml").read_text())
    assert any(image["name"] == name for image in overlay["images"])
    assert f'version = "{tag}"' in (REPO_ROOT / "pyproject.toml").read_text()
