"""Step: evaluate the exported model on the test split."""

from zenml import step

from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.tasks import EvaluationSummary, TrainedModel, evaluate_exported


@step
def evaluate_model_step(trained: TrainedModel) -> EvaluationSummary:
    """Accuracy, precision, recall, F1, ROC AUC, confusion matrix, calibration, error grid."""
    settings = get_settings()
    return evaluate_exported(settings, trained, artifact_location(settings))
