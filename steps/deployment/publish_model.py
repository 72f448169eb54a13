"""Step: put the champion's serving artifact where the model server reads it."""

from zenml import step

from greenr.deployment.artifact import PublishedModel
from greenr.deployment.tasks import publish
from greenr.registry.model_registry import VersionInfo
from greenr.settings import get_settings
from greenr.training.trained_model import TrainedModel


@step
def publish_model_step(champion: VersionInfo, trained: TrainedModel | None = None) -> PublishedModel:
    """model.onnx + metadata.json under models/<name>/v<version>/ (skipped when already there)."""
    return publish(get_settings(), champion, trained)
