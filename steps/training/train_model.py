"""Step: train the classifier (logged live to MLflow) and export it to ONNX."""

from zenml import get_step_context, step

from greenr.ingestion.dataset_version import DatasetVersion
from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.config import TrainingConfig
from greenr.training.tasks import TrainedModel, train_and_export


@step
def train_model_step(version: DatasetVersion, config: TrainingConfig) -> TrainedModel:
    """Frozen-backbone stage, fine-tuning stage, ONNX export checked against Keras."""
    settings = get_settings()
    run_id = str(get_step_context().pipeline_run.id)
    return train_and_export(settings, version, config, run_id, artifact_location(settings))
