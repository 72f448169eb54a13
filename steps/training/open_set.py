"""Step: the registered version's open-set scorer (fitted on train, threshold from validation)."""

from typing import Annotated

from zenml import step

from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays
from greenr.training.open_set import OpenSetSummary, compute_open_set
from greenr.training.registration import RegisteredModel
from greenr.training.trained_model import TrainedModel


@step
def open_set_step(
    trained: TrainedModel, registered: RegisteredModel, test: SplitArrays, config: TrainingConfig
) -> Annotated[OpenSetSummary, "open_set"]:
    """Fit the configured open-set score on the exported model's train embeddings, set its threshold
    from validation, measure test; log open_set.json and the rejection rates to the MLflow run."""
    settings = get_settings()
    return compute_open_set(settings, trained, registered, test, config.open_set, artifact_location(settings))
