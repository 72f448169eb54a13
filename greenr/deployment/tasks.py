"""What each step of the deployment pipeline does, as plain functions."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel

from greenr.contracts import LABELS
from greenr.deployment.artifact import PublishedModel, artifact_prefix, publish_version
from greenr.deployment.local_server import deploy_locally
from greenr.deployment.seldon_manifest import build_seldon_deployment, deployment_name, to_yaml
from greenr.registry import model_registry
from greenr.registry.model_registry import CHAMPION, VersionInfo
from greenr.resources import object_store
from greenr.settings import Settings

MODEL_SERVER_IMAGE = "greenr-model-server:0.1.0"
STORAGE_SECRET = "greenr-s3-credentials"


class NoChampionError(LookupError):
    """The registry has no champion to deploy."""


class DeploymentRecord(BaseModel):
    """Where the champion is served, recorded under models/<name>/deployments/<target>.json."""

    target: Literal["local", "seldon"]
    action: str
    model_name: str
    version: str
    model_uri: str
    prediction_url: str
    manifest_uri: str | None = None


def find_champion(settings: Settings) -> VersionInfo:
    """The version the `champion` alias points to."""
    champion = model_registry.get_alias(settings.tracking_uri, settings.model_name, CHAMPION)
    if champion is None:
        raise NoChampionError(
            f"model {settings.model_name!r} has no champion in {settings.tracking_uri}: "
            "run the training pipeline first (python run.py --pipeline training)"
        )
    return champion


def publish(settings: Settings, champion: VersionInfo) -> PublishedModel:
    """The champion's serving artifact in the object store (models/<name>/v<version>/)."""
    return publish_version(settings.tracking_uri, object_store(settings), champion, CHAMPION, LABELS)


def deploy(settings: Settings, published: PublishedModel, deployer_flavor: str | None) -> DeploymentRecord:
    """Serve the artifact with the active stack's model deployer and record where."""
    store = object_store(settings)
    if deployer_flavor == "seldon":
        document = build_seldon_deployment(
            model_name=published.name,
            version=published.version,
            model_uri=published.uri,
            image=f"{settings.container_registry}/{MODEL_SERVER_IMAGE}",
            namespace=settings.k8s_namespace,
            storage_secret=STORAGE_SECRET,
        )
        manifest_key = f"{artifact_prefix(published.name, published.version)}/seldon-deployment.yaml"
        store.put(manifest_key, to_yaml(document).encode())
        name = deployment_name(published.name)
        record = DeploymentRecord(
            target="seldon",
            action="manifest generated (apply it with kubectl apply -f, or through ZenML on a cluster)",
            model_name=published.name,
            version=published.version,
            model_uri=published.uri,
            prediction_url=(
                f"{settings.seldon_base_url}/seldon/{settings.k8s_namespace}/{name}/api/v1.0/predictions"
            ),
            manifest_uri=store.uri(manifest_key),
        )
    else:
        local = deploy_locally(settings, published.uri, published.version)
        record = DeploymentRecord(
            target="local",
            action=local.action,
            model_name=published.name,
            version=published.version,
            model_uri=published.uri,
            prediction_url=local.prediction_url,
        )
    store.put(
        f"models/{published.name}/deployments/{record.target}.json", record.model_dump_json(indent=1).encode()
    )
    return record


def read_deployment(settings: Settings, target: str = "local") -> DeploymentRecord | None:
    """The last recorded deployment for a target, if any."""
    store = object_store(settings)
    try:
        data = store.get(f"models/{settings.model_name}/deployments/{target}.json")
    except FileNotFoundError:
        return None
    return DeploymentRecord.model_validate(json.loads(data))
