"""Step: register the model as the new challenger."""

from typing import Annotated

from zenml import get_step_context, step

from greenr.registry.tracking import artifact_location
from greenr.registry.zenml_models import link_mlflow_version
from greenr.settings import get_settings
from greenr.training.evaluate_export import EvaluationSummary
from greenr.training.registration import RegisteredModel, register_model
from greenr.training.trained_model import TrainedModel


@step
def register_model_step(
    trained: TrainedModel, evaluation: EvaluationSummary
) -> Annotated[RegisteredModel, "registered_model"]:
    """The ONNX model logged to the training's MLflow run, a new registered version, alias `challenger`;
    the run's ZenML Model version records which MLflow version it became."""
    settings = get_settings()
    registered = register_model(settings, trained, evaluation, artifact_location(settings))
    model = get_step_context().model
    link_mlflow_version(
        model.name,
        model.id,
        registered.version,
        {"mlflow_run_id": registered.mlflow_run_id, "mlflow_run_url": registered.run_url},
    )
    return registered
