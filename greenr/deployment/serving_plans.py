"""What each model deployer needs to serve a published model: its service configuration and type.

A ZenML model deployer takes a configuration of its own kind (`deploy_model(config,
service_type)`), so the project supplies one per deployer class, registered with
`functools.singledispatch`: the deployment code asks for the plan of whatever deployer the
active stack has and never looks at a flavor name. A stack with a deployer greenr has no plan
for is refused with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch
from typing import cast

from zenml.integrations.seldon.model_deployers.seldon_model_deployer import SeldonModelDeployer
from zenml.integrations.seldon.services.seldon_deployment import SeldonDeploymentService
from zenml.model_deployers import BaseModelDeployer
from zenml.models.v2.misc.service import ServiceType
from zenml.services.service import BaseService, ServiceConfig

from greenr.deployment.artifact import PublishedModel
from greenr.deployment.local_deployer import LocalModelServerDeployer
from greenr.deployment.model_server_service import ModelServerConfig, ModelServerService, serving_status
from greenr.deployment.seldon_manifest import (
    MODEL_SERVER_IMAGE,
    preview_deployment,
    seldon_service_config,
    validate_seldon_deployment,
)
from greenr.settings import Settings

SELDON_TIMEOUT_SECONDS = 300


class UnsupportedDeployerError(TypeError):
    """The active stack's model deployer is not one greenr knows how to configure."""


@dataclass(frozen=True)
class Origin:
    """The pipeline and step that deploy (empty outside a pipeline); ZenML shows them."""

    pipeline_name: str = ""
    step_name: str = ""


NO_ORIGIN = Origin()


@dataclass(frozen=True)
class ServingPlan:
    """How a deployer serves one model version."""

    service_type: ServiceType
    config: ServiceConfig
    timeout: int
    # True when a server already found for this version needs nothing (it runs and serves it).
    is_current: Callable[[BaseService], bool]


@singledispatch
def service_type_of(deployer: BaseModelDeployer) -> ServiceType:
    """The kind of service `deployer` records its model servers as."""
    raise _unsupported(deployer)


@service_type_of.register
def _local_type(deployer: LocalModelServerDeployer) -> ServiceType:
    return ModelServerService.SERVICE_TYPE


@service_type_of.register
def _seldon_type(deployer: SeldonModelDeployer) -> ServiceType:
    return SeldonDeploymentService.SERVICE_TYPE


def model_servers(deployer: BaseModelDeployer, model_name: str) -> list[BaseService]:
    """The servers `deployer` has recorded for `model_name`, newest first, with a fresh status."""
    services = deployer.find_model_server(service_type=service_type_of(deployer))
    return [service for service in services if service.config.model_name == model_name]


def _unsupported(deployer: BaseModelDeployer) -> UnsupportedDeployerError:
    return UnsupportedDeployerError(
        f"the active stack's model deployer {deployer.name!r} ({type(deployer).__name__}) is not one "
        "greenr can serve with: use a stack from stacks/ (local, local-s3 or cluster)"
    )


@singledispatch
def serving_plan(
    deployer: BaseModelDeployer, published: PublishedModel, settings: Settings, origin: Origin = NO_ORIGIN
) -> ServingPlan:
    """The plan of `deployer` for `published`."""
    raise _unsupported(deployer)


@serving_plan.register
def _local(
    deployer: LocalModelServerDeployer,
    published: PublishedModel,
    settings: Settings,
    origin: Origin = NO_ORIGIN,
) -> ServingPlan:
    service_path = deployer.config.service_path.rstrip("/")
    config = ModelServerConfig(
        model_name=published.name,
        model_version=published.version,
        model_uri=published.uri,
        port=settings.model_server_port,
        threads=settings.model_server_threads,
        root_runtime_path=service_path,
        cache_dir=f"{service_path}/cache",
        pipeline_name=origin.pipeline_name,
        pipeline_step_name=origin.step_name,
    )

    def is_current(service: BaseService) -> bool:
        # A server that fell back to its cached copy (the artifact was unreachable when it
        # started) is restarted: the artifact may be reachable now.
        if not service.is_running:
            return False
        served = serving_status(cast(ModelServerService, service).url)
        return served is not None and served.version == published.version and not served.fallback

    return ServingPlan(
        service_type=service_type_of(deployer),
        config=config,
        timeout=settings.model_server_start_timeout_seconds,
        is_current=is_current,
    )


@serving_plan.register
def _seldon(
    deployer: SeldonModelDeployer, published: PublishedModel, settings: Settings, origin: Origin = NO_ORIGIN
) -> ServingPlan:
    config = seldon_service_config(
        model_name=published.name,
        version=published.version,
        model_uri=published.uri,
        image=f"{settings.container_registry}/{MODEL_SERVER_IMAGE}",
        storage_secret=deployer.kubernetes_secret_name,
        pipeline_name=origin.pipeline_name,
        pipeline_step_name=origin.step_name,
    )
    validate_seldon_deployment(preview_deployment(config))
    return ServingPlan(
        service_type=service_type_of(deployer),
        config=config,
        timeout=SELDON_TIMEOUT_SECONDS,
        is_current=lambda service: service.is_running,
    )
