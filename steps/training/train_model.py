"""Step: train the classifier (logged live to MLflow) and export it to ONNX."""

from typing import Annotated

from zenml import ArtifactConfig, get_step_context, step
from zenml.enums import ArtifactType

from greenr.ingestion.dataset_version import DatasetVersion
from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays
from greenr.training.train_export import train_and_export
from greenr.training.trained_model import TrainedModel
from materializers.trained_model_materializer import TrainedModelMaterializer


@step(output_materializers=TrainedModelMaterializer)
def train_model_step(
    version: DatasetVersion, config: TrainingConfig, test: SplitArrays
) -> Annotated[TrainedModel, ArtifactConfig(name="trained_model", artifact_type=ArtifactType.MODEL)]:
    """Frozen-backbone stage, fine-tuning stage, ONNX export checked against Keras on the test photos."""
    settings = get_settings()
    run_id = str(get_step_context().pipeline_run.id)
    return train_and_export(settings, version.id, config, test, run_id, artifact_location(settings))
