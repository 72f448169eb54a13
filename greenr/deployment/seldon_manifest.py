"""The cluster stack's deployment: ZenML's Seldon model deployer running greenr's model server.

`seldon_service_config` is the `SeldonDeploymentConfig` of a custom deployment whose one
container is the model server image (serving/Dockerfile); ZenML's `SeldonDeploymentService`
turns it into the SeldonDeployment it creates through the Kubernetes API.
`preview_deployment` builds that same document offline, so that the project's own checks
(`validate_seldon_deployment`) refuse a broken one before anything reaches a cluster.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenml.integrations.seldon.services.seldon_deployment import SeldonDeploymentConfig

MODEL_SERVER_IMAGE = "greenr-model-server:0.1.0"
# ZenML names the graph node of a custom deployment "classifier", and Seldon requires a container
# of the same name in the predictor's componentSpecs.
CONTAINER = "classifier"
CACHE_DIR = "/var/cache/greenr"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DEFAULT_REPLICAS = 2


class ManifestError(ValueError):
    """The SeldonDeployment would be refused by Kubernetes or Seldon, or break the project's rules."""


def model_server_pod_spec(*, model_uri: str, image: str, storage_secret: str) -> dict[str, Any]:
    """The pod spec of the model server container: artifact, cache, resources, S3 keys."""
    container = {
        "name": CONTAINER,
        "image": image,
        "env": [
            {"name": "MODEL_URI", "value": model_uri},
            {"name": "MODEL_CACHE_DIR", "value": CACHE_DIR},
            # Spinning threads burn the pod's CPU quota between parallel sections; off gave
            # 64-77 instead of 54-63 images/s at concurrency 8 on 2 cores (serving/README.md).
            {"name": "GREENR_INTRA_OP_SPINNING", "value": "false"},
        ],
        # The S3 keys come from the Kubernetes secret ZenML's Seldon deployer creates from the
        # ZenML secret of the stack (stacks/cluster.yaml), never from here.
        "envFrom": [{"secretRef": {"name": storage_secret}}],
        "resources": {
            "requests": {"cpu": "500m", "memory": "256Mi"},
            "limits": {"cpu": "2", "memory": "512Mi"},
        },
        "volumeMounts": [{"name": "model-cache", "mountPath": CACHE_DIR}],
    }
    return {"containers": [container], "volumes": [{"name": "model-cache", "emptyDir": {}}]}


def seldon_service_config(
    *,
    model_name: str,
    version: str,
    model_uri: str,
    image: str,
    storage_secret: str,
    replicas: int = DEFAULT_REPLICAS,
    pipeline_name: str = "",
    pipeline_step_name: str = "",
) -> SeldonDeploymentConfig:
    """ZenML's configuration of a custom Seldon deployment of one model version."""
    from zenml.integrations.seldon.services.seldon_deployment import SeldonDeploymentConfig

    return SeldonDeploymentConfig(
        model_name=model_name,
        model_version=version,
        model_uri=model_uri,
        implementation="custom",
        is_custom_deployment=True,
        spec=model_server_pod_spec(model_uri=model_uri, image=image, storage_secret=storage_secret),
        replicas=replicas,
        parameters=None,
        resources=None,
        secret_name=None,  # ZenML creates it from the deployer's ZenML secret (storage_secret)
        pipeline_name=pipeline_name,
        pipeline_step_name=pipeline_step_name,
    )


def preview_deployment(config: SeldonDeploymentConfig, name: str = "zenml-preview") -> dict[str, Any]:
    """The SeldonDeployment ZenML's `SeldonDeploymentService.provision` builds from `config`
    (under another name), as JSON."""
    from zenml.integrations.seldon.seldon_client import SeldonDeployment

    deployment = SeldonDeployment.build(
        name=name,
        model_uri=config.model_uri,
        model_name=config.model_name,
        implementation=config.implementation,
        parameters=config.parameters,
        engineResources=config.resources,
        secret_name=config.secret_name,
        labels=config.get_seldon_deployment_labels(),
        annotations=config.get_seldon_deployment_annotations(),
        is_custom_deployment=config.is_custom_deployment,
        spec=config.spec,
        serviceAccountName=config.serviceAccountName,
    )
    deployment.spec.replicas = config.replicas
    deployment.spec.predictors[0].replicas = config.replicas
    deployment.mark_as_managed_by_zenml()
    document: dict[str, Any] = deployment.model_dump(mode="json", exclude_none=True)
    return document


def validate_seldon_deployment(document: dict[str, Any]) -> None:
    """The project's checks of a SeldonDeployment, beyond the CRD schema: what Seldon would only
    refuse at run time, and what the model server needs."""
    if (
        document.get("apiVersion") != "machinelearning.seldon.io/v1"
        or document.get("kind") != "SeldonDeployment"
    ):
        raise ManifestError("not a machinelearning.seldon.io/v1 SeldonDeployment")
    name = str(document.get("metadata", {}).get("name", ""))
    if not _is_dns_label(name):
        raise ManifestError(f"metadata.name {name!r} is not a DNS-1123 label")
    predictors = document.get("spec", {}).get("predictors") or []
    if not predictors:
        raise ManifestError("spec.predictors is empty")
    for predictor in predictors:
        graph = predictor.get("graph", {})
        containers = [
            c
            for spec in predictor.get("componentSpecs") or []
            for c in (spec.get("spec") or {}).get("containers", [])
        ]
        if graph.get("name") not in {c.get("name") for c in containers}:
            raise ManifestError(f"graph node {graph.get('name')!r} has no container of the same name")
        for container in containers:
            if not container.get("image"):
                raise ManifestError(f"container {container.get('name')!r} has no image")
            env = {e.get("name") for e in container.get("env", [])}
            if "MODEL_URI" not in env:
                raise ManifestError(f"container {container.get('name')!r} does not set MODEL_URI")
            if not container.get("envFrom"):
                raise ManifestError(f"container {container.get('name')!r} gets no storage secret (envFrom)")


def _is_dns_label(name: str) -> bool:
    return len(name) <= 63 and _DNS_LABEL.fullmatch(name) is not None
