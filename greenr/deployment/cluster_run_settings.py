"""How the cluster stack runs a pipeline: the image ZenML's Kaniko builder extends, and the pods
the Kubernetes orchestrator starts.

The parent image is `greenr-pipelines` (docker/greenr.Dockerfile, target `pipelines`, pushed by
.github/workflows/release.yml): the dependencies are the pins of pyproject.toml, installed once
there, so ZenML adds only the code (no stack or deployment requirements of its own, which could
resolve other versions). The pods run as k8s/base/rbac.yaml's service account and carry the label
k8s/base/network-policies.yaml admits to PostgreSQL, MinIO, MLflow and the Pushgateway.
On a local orchestrator ZenML ignores both (nothing is built, no pod is started).
"""

from __future__ import annotations

from typing import Any

PIPELINES_IMAGE = "greenr-pipelines:0.1.0"
SERVICE_ACCOUNT = "greenr-zenml"
POD_LABELS = {"greenr.io/pipeline-pod": "true"}
# The unprivileged user of the image (docker/greenr.Dockerfile). The root file system stays
# writable: ZenML writes its client configuration under the user's home in step pods.
_POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def cluster_run_settings(container_registry: str) -> dict[str, dict[str, Any]]:
    """ZenML pipeline settings (`pipeline.with_options(settings=...)`): Docker and Kubernetes."""
    pod = {
        "labels": POD_LABELS,
        "container_security_context": _CONTAINER_SECURITY,
        "additional_pod_spec_args": {"securityContext": _POD_SECURITY},
    }
    return {
        "docker": {
            "parent_image": f"{container_registry}/{PIPELINES_IMAGE}",
            "install_stack_requirements": False,
            "install_deployment_requirements": False,
            "disable_automatic_requirements_detection": True,
        },
        "orchestrator.kubernetes": {
            "service_account_name": SERVICE_ACCOUNT,
            "step_pod_service_account_name": SERVICE_ACCOUNT,
            "pod_settings": pod,
            "orchestrator_pod_settings": pod,
        },
    }
