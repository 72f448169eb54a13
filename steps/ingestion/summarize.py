"""Step: print and return the ingestion summary."""

import logging

from zenml import step

from greenr.catalog.repository import load_images
from greenr.ingestion.dataset_plan import ScreenedImages
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.ingestion.store_objects import StoredObjects
from greenr.ingestion.summary import IngestionSummary, build_summary, render_summary
from greenr.resources import catalog_engine
from greenr.settings import get_settings

logger = logging.getLogger(__name__)


@step
def summarize_step(
    screened: ScreenedImages, version: DatasetVersion, stored: StoredObjects, inserted: dict[str, int]
) -> IngestionSummary:
    """Counts per class and split, sizes, and every rejected file with its reason."""
    catalog = load_images(catalog_engine(get_settings()))
    summary = build_summary(screened, version, stored, inserted, [image.record for image in catalog])
    logger.info("\n%s", render_summary(summary))
    return summary
