"""The cluster stack's deployment: a SeldonDeployment built with ZenML's own Seldon models.

With no cluster here, the manifest is generated and validated offline; `kubectl apply -f` (or
ZenML's Seldon model deployer, given a cluster) deploys it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

CONTAINER = "classifier"  # Seldon requires the container name to equal the graph node name.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ManifestError(ValueError):
    """The generated SeldonDeployment would be refused by Kubernetes or Seldon."""


def deployment_name(model_name: str) -> str:
    """A DNS-1123 name for the model's SeldonDeployment (stable across versions: updates replace)."""
    name = re.sub(r"[^a-z0-9-]+", "-", model_name.lower()).strip("-")[:53]
    if not _DNS_LABEL.match(name):
        raise ManifestError(f"cannot derive a Kubernetes name from model name {model_name!r}")
    return name


def build_seldon_deployment(
    *,
    model_name: str,
    version: str,
    model_uri: str,
    image: str,
    namespace: str,
    storage_secret: str,
    replicas: int = 2,
) -> dict[str, Any]:
    """The SeldonDeployment document for one model version (ZenML's SeldonDeployment model)."""
    from zenml.integrations.seldon.seldon_client import SeldonDeployment

    name = deployment_name(model_name)
    container = {
        "name": CONTAINER,
        "image": image,
        "env": [
            {"name": "MODEL_URI", "value": model_uri},
            {"name": "MODEL_CACHE_DIR", "value": "/var/cache/greenr"},
            # Spinning threads burn the pod's CPU quota between parallel sections; off gave
            # 64-77 instead of 54-63 images/s at concurrency 8 on 2 cores (serving/README.md).
            {"name": "GREENR_INTRA_OP_SPINNING", "value": "false"},
        ],
        # The S3 keys come from the secret ZenML's Seldon deployer manages, never from here.
        "envFrom": [{"secretRef": {"name": storage_secret}}],
        "resources": {
            "requests": {"cpu": "500m", "memory": "256Mi"},
            "limits": {"cpu": "2", "memory": "512Mi"},
        },
        "volumeMounts": [{"name": "model-cache", "mountPath": "/var/cache/greenr"}],
    }
    pod_spec = {"containers": [container], "volumes": [{"name": "model-cache", "emptyDir": {}}]}
    deployment = SeldonDeployment.build(
        name=name,
        model_name=name,
        is_custom_deployment=True,
        spec=pod_spec,
        labels={"app.kubernetes.io/part-of": "greenr", "greenr/model-version": str(version)},
        annotations={"greenr/model-uri": model_uri},
    )
    deployment.mark_as_managed_by_zenml()
    document: dict[str, Any] = deployment.model_dump(mode="json", exclude_none=True, by_alias=True)
    document["metadata"]["namespace"] = namespace
    # Seldon reads spec.replicas as the default of every predictor: keep both equal.
    document["spec"]["replicas"] = replicas
    document["spec"]["predictors"][0]["replicas"] = replicas
    validate_seldon_deployment(document)
    return document


def validate_seldon_deployment(document: dict[str, Any]) -> None:
    """Checks Kubernetes and Seldon would otherwise fail on at apply time."""
    if (
        document.get("apiVersion") != "machinelearning.seldon.io/v1"
        or document.get("kind") != "SeldonDeployment"
    ):
        raise ManifestError("not a machinelearning.seldon.io/v1 SeldonDeployment")
    name = document.get("metadata", {}).get("name", "")
    if not _DNS_LABEL.match(name) or len(name) > 63:
        raise ManifestError(f"metadata.name {name!r} is not a DNS-1123 label")
    predictors = document.get("spec", {}).get("predictors") or []
    if not predictors:
        raise ManifestError("spec.predictors is empty")
    for predictor in predictors:
        graph = predictor.get("graph", {})
        containers = [c for spec in predictor.get("componentSpecs", []) for c in spec["spec"]["containers"]]
        names = {c.get("name") for c in containers}
        if graph.get("name") not in names:
            raise ManifestError(f"graph node {graph.get('name')!r} has no container of the same name")
        for container in containers:
            if not container.get("image"):
                raise ManifestError(f"container {container.get('name')!r} has no image")
            env = {e["name"] for e in container.get("env", [])}
            if "MODEL_URI" not in env:
                raise ManifestError(f"container {container.get('name')!r} does not set MODEL_URI")


def to_yaml(document: dict[str, Any]) -> str:
    """The manifest as YAML, ready for `kubectl apply -f`."""
    return yaml.safe_dump(document, sort_keys=False)
