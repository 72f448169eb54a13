"""What each step of the deployment pipeline does, as plain functions."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel
from zenml.model_deployers import BaseModelDeployer
from zenml.services.service import BaseService, ServiceConfig

from greenr.contracts import LABELS
from greenr.deployment.artifact import PublishedModel, publish_version
from greenr.deployment.serving_plans import NO_ORIGIN, Origin, model_servers, serving_plan
from greenr.registry import model_registry
from greenr.registry.model_registry import CHAMPION, NoChampionError, VersionInfo
from greenr.registry.zenml_models import find_model_version
from greenr.resources import object_store
from greenr.settings import Settings
from greenr.training.trained_model import TrainedModel

Action = Literal["started", "replaced", "unchanged"]


class DeploymentRecord(BaseModel):
    """Where the champion is served, recorded under models/<name>/deployments/<stack>.json."""

    stack: str
    deployer: str
    service_id: str
    action: Action
    model_name: str
    version: str
    model_uri: str
    prediction_url: str | None


def find_champion(settings: Settings) -> VersionInfo:
    """The version the `champion` alias points to."""
    champion = model_registry.get_alias(settings.tracking_uri, settings.model_name, CHAMPION)
    if champion is None:
        raise NoChampionError(
            f"model {settings.model_name!r} has no champion in {settings.tracking_uri}: "
            "run the training pipeline first (python run.py --pipeline training)"
        )
    return champion


def champion_model_version(settings: Settings) -> str | None:
    """The name of the ZenML Model version the champion came from; None when it has none
    (registered before that link existed, or not by the training pipeline) or there is no champion."""
    try:
        champion = find_champion(settings)
    except NoChampionError:
        return None  # the pipeline's first step says so, in a run of its own
    found = find_model_version(settings.model_name, champion.version)
    return found.name if found is not None else None


def publish(settings: Settings, champion: VersionInfo, trained: TrainedModel | None = None) -> PublishedModel:
    """The champion's serving artifact in the object store (models/<name>/v<version>/), from the
    training's `trained_model` artifact when given, else downloaded from the registry."""
    onnx = None
    if trained is not None:
        registered = champion.tags.get("onnx_sha256")
        if registered != trained.summary.onnx_sha256:
            raise model_registry.RegistryError(
                f"{champion.name} version {champion.version} registered model.onnx {registered}, but "
                f"the ZenML model artifact holds {trained.summary.onnx_sha256}: the champion moved "
                "while deploying; run the deployment pipeline again"
            )
        onnx = trained.onnx
    return publish_version(
        settings.tracking_uri, object_store(settings), champion, CHAMPION, LABELS, onnx_file=onnx
    )


# Who deployed a server, and names ZenML derives: not part of what the server does.
_ORIGIN_FIELDS = frozenset({"name", "description", "pipeline_name", "pipeline_step_name", "service_name"})


def _same_deployment(service: BaseService, config: ServiceConfig) -> bool:
    """The server was deployed with this configuration (model, version, artifact, port, image...)."""
    wanted = {k: v for k, v in config.model_dump().items() if k not in _ORIGIN_FIELDS}
    recorded = service.config.model_dump()
    return all(recorded.get(key) == value for key, value in wanted.items())


def deploy(
    settings: Settings,
    published: PublishedModel,
    deployer: BaseModelDeployer,
    stack: str,
    origin: Origin = NO_ORIGIN,
) -> DeploymentRecord:
    """Serve the artifact with `deployer` (the active stack's) and record where.

    A server deployed with the same configuration (this version, artifact, port or image) is
    left alone, or started again if it stopped; the model's other servers are replaced (deleted,
    then the new one deployed).
    """
    plan = serving_plan(deployer, published, settings, origin)
    found = model_servers(deployer, published.name)
    same = next((service for service in found if _same_deployment(service, plan.config)), None)
    replaced = False
    for service in found:
        if service is not same:
            deployer.delete_model_server(service.uuid, timeout=plan.timeout)
            replaced = True
    action: Action
    if same is not None and plan.is_current(same):
        served, action = same, "unchanged"
    elif same is not None:
        if same.is_running:  # but not as it should (its fallback copy, another version)
            deployer.stop_model_server(same.uuid, timeout=plan.timeout)
            replaced = True
        deployer.start_model_server(same.uuid, timeout=plan.timeout)
        served = deployer.find_model_server(service_uuid=same.uuid)[0]
        action = "replaced" if replaced else "started"
    else:
        served = deployer.deploy_model(plan.config, plan.service_type, timeout=plan.timeout)
        action = "replaced" if replaced else "started"
    record = DeploymentRecord(
        stack=stack,
        deployer=deployer.name,
        service_id=str(served.uuid),
        action=action,
        model_name=published.name,
        version=published.version,
        model_uri=published.uri,
        prediction_url=served.get_prediction_url(),
    )
    object_store(settings).put(
        f"models/{published.name}/deployments/{stack}.json", record.model_dump_json(indent=1).encode()
    )
    return record


def read_deployment(settings: Settings, stack: str = "local") -> DeploymentRecord | None:
    """The last recorded deployment on a stack, if any."""
    try:
        data = object_store(settings).get(f"models/{settings.model_name}/deployments/{stack}.json")
    except FileNotFoundError:
        return None
    return DeploymentRecord.model_validate(json.loads(data))
