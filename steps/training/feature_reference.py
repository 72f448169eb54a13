"""Step: the registered version's feature reference (its train and validation photos' columns)."""

from typing import Annotated

from zenml import step

from greenr.features.reference import FeatureReference
from greenr.registry.tracking import artifact_location
from greenr.settings import get_settings
from greenr.training.feature_reference import compute_reference
from greenr.training.registration import RegisteredModel
from greenr.training.trained_model import TrainedModel


@step
def feature_reference_step(
    trained: TrainedModel, registered: RegisteredModel
) -> Annotated[FeatureReference, "feature_reference"]:
    """The exported model run on the train and validation photos; the embedding reduction fitted on
    train; both logged to the training's MLflow run (feature_reference.json, embedding_reduction.json)."""
    settings = get_settings()
    return compute_reference(settings, trained, registered, artifact_location(settings))
