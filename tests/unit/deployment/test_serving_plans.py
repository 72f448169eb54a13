"""Each model deployer gets a configuration of its own kind, chosen by its class; others are refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from zenml.enums import StackComponentType
from zenml.model_deployers import BaseModelDeployer
from zenml.model_deployers.base_model_deployer import BaseModelDeployerConfig

from greenr.deployment.artifact import PublishedModel
from greenr.deployment.local_deployer import LocalModelServerDeployer, LocalModelServerDeployerConfig
from greenr.deployment.model_server_service import ModelServerConfig, ModelServerService
from greenr.deployment.serving_plans import Origin, UnsupportedDeployerError, service_type_of, serving_plan
from greenr.settings import Settings

PUBLISHED = PublishedModel(
    name="greenr-classifier", version="5", uri="/lake/models/v5", sha256="0" * 64, created=True
)


def component(cls: type[Any], config: BaseModelDeployerConfig, flavor: str) -> Any:
    now = datetime.now(UTC)
    return cls(
        name="deployer",
        id=uuid.uuid4(),
        config=config,
        flavor=flavor,
        type=StackComponentType.MODEL_DEPLOYER,
        user=None,
        created=now,
        updated=now,
    )


class OtherDeployer(BaseModelDeployer):
    """A deployer greenr has no plan for."""

    perform_deploy_model = perform_stop_model = perform_start_model = perform_delete_model = None  # type: ignore[assignment]
    get_model_server_info = None  # type: ignore[assignment]


def test_the_local_deployer_serves_on_the_settings_port_with_a_shared_cache(tmp_path: Path) -> None:
    deployer = component(
        LocalModelServerDeployer,
        LocalModelServerDeployerConfig(service_path=str(tmp_path / "model-server")),
        "greenr-model-server",
    )
    settings = Settings(
        GREENR_HOME=str(tmp_path), GREENR_MODEL_SERVER_PORT="29123", GREENR_MODEL_SERVER_THREADS="3"
    )
    plan = serving_plan(deployer, PUBLISHED, settings, Origin("deployment_pipeline", "deploy_model_step"))
    assert plan.service_type == ModelServerService.SERVICE_TYPE == service_type_of(deployer)
    assert isinstance(plan.config, ModelServerConfig)
    assert (plan.config.model_name, plan.config.model_version, plan.config.model_uri) == (
        "greenr-classifier",
        "5",
        "/lake/models/v5",
    )
    assert (plan.config.port, plan.config.threads) == (29123, 3)
    assert plan.config.root_runtime_path == str(tmp_path / "model-server")
    assert plan.config.cache_dir == str(tmp_path / "model-server" / "cache")
    assert plan.config.pipeline_step_name == "deploy_model_step"
    assert plan.timeout == settings.model_server_start_timeout_seconds


def test_a_deployer_without_a_plan_is_refused_in_one_line() -> None:
    deployer = component(OtherDeployer, BaseModelDeployerConfig(), "other")
    with pytest.raises(UnsupportedDeployerError, match="is not one greenr can serve with") as caught:
        serving_plan(deployer, PUBLISHED, Settings())
    assert "\n" not in str(caught.value)
    with pytest.raises(UnsupportedDeployerError):
        service_type_of(deployer)
