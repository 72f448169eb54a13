"""Step: the registered version's model card (markdown), logged to MLflow and kept as an artifact."""

from typing import Annotated

from zenml import step

from greenr.ingestion.dataset_version import DatasetVersion
from greenr.resources import catalog_engine
from greenr.settings import get_settings
from greenr.training.evaluate_export import EvaluationSummary
from greenr.training.model_card import log_model_card, model_card_markdown, source_folders
from greenr.training.open_set import OpenSetSummary
from greenr.training.registration import RegisteredModel
from greenr.training.trained_model import TrainedModel


@step
def model_card_step(
    version: DatasetVersion,
    trained: TrainedModel,
    evaluation: EvaluationSummary,
    registered: RegisteredModel,
    open_set: OpenSetSummary | None = None,
) -> Annotated[str, "model_card"]:
    """Data, training configuration, test metrics with intervals, calibration, open-set rejection,
    limitations, use."""
    settings = get_settings()
    sources = source_folders(catalog_engine(settings), version.id)
    markdown = model_card_markdown(version, trained.summary, evaluation, registered, sources, open_set)
    log_model_card(settings, registered, markdown)
    return markdown
