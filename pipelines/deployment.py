"""Deployment: champion -> serving artifact -> the active stack's model deployer."""

from zenml import get_pipeline_context, pipeline

from steps.deployment.deploy_model import deploy_model_step
from steps.deployment.find_champion import find_champion_step
from steps.deployment.publish_model import publish_model_step


@pipeline(enable_cache=False)
def deployment_pipeline(from_model_artifact: bool = False) -> None:
    """Serve the registry's champion; a no-op when it is already served.

    With `from_model_artifact`, the pipeline runs in the champion's ZenML Model version (run.py sets
    it) and publishes that version's `trained_model` artifact: lineage runs from the dataset version
    through the model to this deployment. Without, the ONNX file comes from the MLflow registry.
    """
    champion = find_champion_step()
    if from_model_artifact:
        model = get_pipeline_context().model
        if model is None:
            raise ValueError("from_model_artifact needs the pipeline's model: run it with run.py")
        trained = model.get_model_artifact("trained_model")
        published = publish_model_step(champion, trained)
    else:
        published = publish_model_step(champion)
    deploy_model_step(published)
