"""Step: serve the champion with the active stack's model deployer."""

import logging

from zenml import get_step_context, step

from greenr.deployment.artifact import PublishedModel
from greenr.deployment.control import active_deployer
from greenr.deployment.serving_plans import Origin
from greenr.deployment.tasks import DeploymentRecord, deploy
from greenr.settings import get_settings

log = logging.getLogger(__name__)


@step
def deploy_model_step(published: PublishedModel) -> DeploymentRecord:
    """Started, replaced or left alone by the stack's deployer (local server, or Seldon)."""
    stack, deployer = active_deployer()
    context = get_step_context()
    origin = Origin(pipeline_name=context.pipeline.name, step_name=context.step_run.name)
    record = deploy(get_settings(), published, deployer, stack, origin)
    log.info(
        "%s version %s (%s): %s\n  prediction URL: %s",
        record.model_name,
        record.version,
        record.stack,
        record.action,
        record.prediction_url,
    )
    return record
