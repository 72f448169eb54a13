"""Step: log the run to MLflow and register the model as the new challenger."""

from zenml import step

from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.tasks import EvaluationSummary, RegisteredModel, TrainedModel, log_and_register


@step
def register_model_step(trained: TrainedModel, evaluation: EvaluationSummary) -> RegisteredModel:
    """Parameters, curves, metrics, plots, config, dataset version and commit; alias `challenger`."""
    settings = get_settings()
    return log_and_register(settings, trained, evaluation, artifact_location(settings))
