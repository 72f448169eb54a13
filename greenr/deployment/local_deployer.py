"""The `local` stacks' model deployer: a ZenML flavor that serves models on this machine.

Registered by `python -m stacks register` (stacks/local.yaml, stacks/local-s3.yaml) as the
component `greenr-local-model-server` of flavor `greenr-model-server`. Each deployment is a
`ModelServerService` (greenr/deployment/model_server_service.py) that ZenML records, so
`zenml model-deployer models list|describe|get-url|start|stop|delete` work on it as on any
deployer's servers.
"""

from __future__ import annotations

import shutil
from typing import ClassVar, cast
from uuid import UUID

from pydantic import Field
from zenml.model_deployers import BaseModelDeployer, BaseModelDeployerFlavor
from zenml.model_deployers.base_model_deployer import BaseModelDeployerConfig
from zenml.services.service import BaseService, ServiceConfig

from greenr.deployment.model_server_service import ModelServerConfig, ModelServerService

FLAVOR_NAME = "greenr-model-server"
# A model that cannot load says so within seconds; a cold start on a busy 2-core machine (import
# onnxruntime, fetch and verify the artifact, warm up) takes up to ~20 s.
DEFAULT_TIMEOUT_SECONDS = 120
SELDON_PATHS = ("predictions", "feedback", "metadata")


class LocalModelServerDeployerConfig(BaseModelDeployerConfig):
    """Where the servers keep their runtime files (one folder per server) and the model cache."""

    service_path: str = Field(
        description="folder for each server's pid, log and config, and the shared cache"
    )

    @property
    def is_local(self) -> bool:
        """The servers run on this machine."""
        return True


class LocalModelServerDeployer(BaseModelDeployer):
    """Serves a model artifact with greenr's Seldon-protocol model server on 127.0.0.1."""

    NAME: ClassVar[str] = "greenr local model server"
    FLAVOR: ClassVar[type[BaseModelDeployerFlavor]]  # set below, once the flavor class exists

    @property
    def config(self) -> LocalModelServerDeployerConfig:
        """The component's configuration."""
        return cast(LocalModelServerDeployerConfig, self._config)

    @staticmethod
    def get_model_server_info(  # type: ignore[override]  # ZenML's own deployers narrow it too
        service_instance: ModelServerService,
    ) -> dict[str, str | None]:
        """What `zenml model-deployer models describe` shows."""
        base = service_instance.url
        return {
            "PREDICTION_URL": service_instance.prediction_url,
            "PREDICTION_HOSTNAME": base.removeprefix("http://"),
            "PREDICTION_APIS_URLS": ", ".join(f"{base}/api/v1.0/{path}" for path in SELDON_PATHS),
            "HEALTH_CHECK_URL": service_instance.healthcheck_url,
            "MODEL_NAME": service_instance.config.model_name,
            "MODEL_VERSION": service_instance.config.model_version,
            "MODEL_URI": service_instance.config.model_uri,
            "SERVICE_PATH": service_instance.status.runtime_path,
            "LOG_FILE": service_instance.status.log_file,
            "DAEMON_PID": str(service_instance.status.pid),
        }

    def perform_deploy_model(
        self, id: UUID, config: ServiceConfig, timeout: int = DEFAULT_TIMEOUT_SECONDS
    ) -> BaseService:
        """Start a new server for `config` (the caller has removed the one it replaces)."""
        server_config = cast(ModelServerConfig, config)
        server_config.root_runtime_path = server_config.root_runtime_path or self.config.service_path
        if not server_config.cache_dir:
            server_config.cache_dir = f"{self.config.service_path.rstrip('/')}/cache"
        service = ModelServerService(uuid=id, config=server_config)
        service.start(timeout=timeout)
        return service

    def perform_stop_model(
        self, service: BaseService, timeout: int = DEFAULT_TIMEOUT_SECONDS, force: bool = False
    ) -> BaseService:
        """Stop the server and wait until every process it started is gone."""
        service.stop(timeout=timeout, force=force)
        return service

    def perform_start_model(
        self, service: BaseService, timeout: int = DEFAULT_TIMEOUT_SECONDS
    ) -> BaseService:
        """Start a stopped server again on the artifact it was deployed with."""
        service.start(timeout=timeout)
        return service

    def perform_delete_model(
        self, service: BaseService, timeout: int = DEFAULT_TIMEOUT_SECONDS, force: bool = False
    ) -> None:
        """Stop the server and remove its runtime folder (the shared model cache stays)."""
        service.stop(timeout=timeout, force=force)
        runtime_path = cast(ModelServerService, service).status.runtime_path
        if runtime_path and not cast(ModelServerService, service).config.singleton:
            shutil.rmtree(runtime_path, ignore_errors=True)


class LocalModelServerDeployerFlavor(BaseModelDeployerFlavor):
    """Flavor of the local model server deployer (registered from its source by stacks/)."""

    @property
    def name(self) -> str:
        """The flavor's name in stacks/*.yaml and `zenml model-deployer flavor list`."""
        return FLAVOR_NAME

    @property
    def docs_url(self) -> str | None:
        """No hosted docs: serving/README.md in the repository."""
        return None

    @property
    def sdk_docs_url(self) -> str | None:
        """No hosted docs."""
        return None

    @property
    def logo_url(self) -> str | None:
        """No logo."""
        return None

    @property
    def config_class(self) -> type[LocalModelServerDeployerConfig]:
        """The component's configuration class."""
        return LocalModelServerDeployerConfig

    @property
    def implementation_class(self) -> type[LocalModelServerDeployer]:
        """The deployer class."""
        return LocalModelServerDeployer


LocalModelServerDeployer.FLAVOR = LocalModelServerDeployerFlavor
