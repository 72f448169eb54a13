"""Step: evaluate the exported model on the test split."""

from typing import Annotated

from zenml import step

from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.data import SplitArrays
from greenr.training.evaluate_export import EvaluationSummary, evaluate_exported
from greenr.training.trained_model import TrainedModel


@step
def evaluate_model_step(
    trained: TrainedModel, test: SplitArrays
) -> Annotated[EvaluationSummary, "evaluation"]:
    """Accuracy, precision, recall, F1, ROC AUC, confusion matrix, calibration, error grid."""
    settings = get_settings()
    return evaluate_exported(settings, trained, test, artifact_location(settings))
