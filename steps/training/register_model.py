"""Step: register the model as the new challenger."""

from zenml import step

from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.tasks import EvaluationSummary, RegisteredModel, TrainedModel, register_model


@step
def register_model_step(trained: TrainedModel, evaluation: EvaluationSummary) -> RegisteredModel:
    """The ONNX model logged to the training's MLflow run, a new registered version, alias `challenger`."""
    settings = get_settings()
    return register_model(settings, trained, evaluation, artifact_location(settings))
