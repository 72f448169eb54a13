"""Deployment: champion -> serving artifact -> the active stack's model deployer."""

from zenml import pipeline

from steps.deployment.deploy_model import deploy_model_step
from steps.deployment.find_champion import find_champion_step
from steps.deployment.publish_model import publish_model_step


@pipeline(enable_cache=False)
def deployment_pipeline() -> None:
    """Serve the registry's champion; a no-op when it is already served."""
    champion = find_champion_step()
    published = publish_model_step(champion)
    deploy_model_step(published)
