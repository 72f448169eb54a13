"""Step: serve the champion with the active stack's model deployer."""

import logging

from zenml import step
from zenml.client import Client

from greenr.deployment.artifact import PublishedModel
from greenr.deployment.tasks import DeploymentRecord, deploy
from greenr.settings import get_settings

log = logging.getLogger(__name__)


@step
def deploy_model_step(published: PublishedModel) -> DeploymentRecord:
    """local: a model server on 127.0.0.1 (started, replaced or left alone); seldon: a manifest."""
    deployer = Client().active_stack.model_deployer
    record = deploy(get_settings(), published, deployer.flavor if deployer else None)
    log.info(
        "%s version %s (%s): %s\n  prediction URL: %s",
        record.model_name,
        record.version,
        record.target,
        record.action,
        record.prediction_url,
    )
    return record
