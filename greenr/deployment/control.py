"""Status, start and stop of the served model, through the active stack's model deployer.

What `python -m greenr.deployment status|start|stop` and the deployment step call. The deployer
(ZenML's record of its servers) knows what was deployed, so starting the champion's server again
after `scripts/stop.sh` or a reboot needs no MODEL_URI and no pipeline run.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml.enums import ServiceState
from zenml.model_deployers import BaseModelDeployer
from zenml.services.service import BaseService

from greenr.deployment.serving_plans import model_servers

START_COMMAND = "python -m greenr.deployment start"


class DeploymentControlError(RuntimeError):
    """Nothing to act on (no deployer, nothing deployed), or the deployer failed; one line."""


class NoDeployerError(DeploymentControlError):
    """The active stack has no model deployer."""


@dataclass(frozen=True)
class ServerReport:
    """One recorded model server, as a person wants to see it."""

    model_name: str
    version: str
    url: str | None
    state: str
    message: str
    running: bool

    def line(self) -> str:
        """`greenr-classifier version 3 at http://...: running`, plus any message."""
        where = f" at {self.url}" if self.url else ""
        message = f" ({self.message})" if self.message else ""
        return f"{self.model_name} version {self.version}{where}: {self.state}{message}"


def active_deployer() -> tuple[str, BaseModelDeployer]:
    """The active stack's name and its model deployer (the caller has prepared ZenML)."""
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent

    # Only the deployer is built from the stack's record: `Client().active_stack` would build every
    # component, and importing the MLflow tracker's alone costs `python -m greenr.deployment
    # status|start|stop` seconds it never uses.
    stack = Client().active_stack_model
    components = stack.components.get(StackComponentType.MODEL_DEPLOYER)
    if not components:
        raise NoDeployerError(
            f"the active stack {stack.name!r} has no model deployer: register the project's stacks "
            f"(python -m stacks register --stack local --activate local) and deploy again"
        )
    deployer = StackComponent.from_model(components[0])
    if not isinstance(deployer, BaseModelDeployer):
        raise DeploymentControlError(f"{components[0].name!r} is not a model deployer")
    return stack.name, deployer


def report(service: BaseService) -> ServerReport:
    """What a server is and does, from ZenML's status (refreshed by the deployer's lookup)."""
    state = service.status.state
    running = state == ServiceState.ACTIVE
    return ServerReport(
        model_name=service.config.model_name,
        version=service.config.model_version,
        url=_base_url(service.get_prediction_url()),
        state={ServiceState.ACTIVE: "running", ServiceState.INACTIVE: "stopped"}.get(state, state.value),
        message="" if state == ServiceState.INACTIVE else service.status.last_error,
        running=running,
    )


def _base_url(prediction_url: str | None) -> str | None:
    # Both the local server and Seldon answer predictions at <base>/api/v<x>/predictions.
    if not prediction_url:
        return None
    return prediction_url.split("/api/v", 1)[0]


def status(deployer: BaseModelDeployer, model_name: str) -> list[ServerReport]:
    """Every server the deployer has recorded for the model, newest first."""
    return [report(service) for service in model_servers(deployer, model_name)]


def start(deployer: BaseModelDeployer, model_name: str, timeout: int) -> tuple[ServerReport, bool]:
    """Start the model's most recent server again, on the artifact it was deployed with.

    Returns its report and whether it had to be started (False: it already ran).
    """
    servers = model_servers(deployer, model_name)
    if not servers:
        raise DeploymentControlError(
            f"no server of {model_name!r} was ever deployed with this stack: "
            "run the deployment pipeline first (python run.py --pipeline deployment)"
        )
    latest = servers[0]
    if latest.is_running:
        return report(latest), False
    try:
        deployer.start_model_server(latest.uuid, timeout=timeout)
    except RuntimeError as error:
        raise DeploymentControlError(str(error)) from error
    return report(deployer.find_model_server(service_uuid=latest.uuid)[0]), True


def stop(deployer: BaseModelDeployer, model_name: str, timeout: int) -> list[ServerReport]:
    """Stop every running server of the model; returns those it stopped."""
    stopped = []
    for service in model_servers(deployer, model_name):
        if service.status.state == ServiceState.INACTIVE and service.admin_state == ServiceState.INACTIVE:
            continue
        try:
            deployer.stop_model_server(service.uuid, timeout=timeout)
        except RuntimeError as error:
            raise DeploymentControlError(str(error)) from error
        stopped.append(report(deployer.find_model_server(service_uuid=service.uuid)[0]))
    return stopped
