"""Step: assign splits and define the dataset version."""

from datetime import UTC, datetime

from zenml import step

from greenr.catalog.repository import load_images
from greenr.ingestion.config import IngestionConfig
from greenr.ingestion.dataset_plan import DatasetPlan, ScreenedImages, plan_dataset
from greenr.ingestion.sources import open_splits
from greenr.resources import catalog_engine
from greenr.settings import get_settings


@step
def split_dataset_step(screened: ScreenedImages, config: IngestionConfig) -> DatasetPlan:
    """Stratified 70/15/15 split that keeps every existing image in its split (feedback: no test)."""
    return plan_dataset(
        catalog=load_images(catalog_engine(get_settings())),
        admitted=screened.admitted,
        fractions=config.fractions,
        seed=config.seed,
        group_distance=config.group_distance,
        now=datetime.now(UTC),
        open_splits=open_splits(screened.source),
    )
