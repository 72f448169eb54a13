"""Step: extract metadata of every candidate and screen out bad files."""

from datetime import UTC, datetime

from zenml import step

from greenr.catalog.repository import load_images
from greenr.contracts import SPLITS
from greenr.dataset.rules import ImageRules
from greenr.ingestion.config import IngestionConfig
from greenr.ingestion.dataset_plan import ScreenedImages
from greenr.ingestion.scan import ScanResult
from greenr.ingestion.screening import ScreeningPolicy, screen_files, with_content_hashes
from greenr.ingestion.sources import open_splits
from greenr.resources import catalog_engine
from greenr.settings import get_settings


@step
def screen_images_step(scan: ScanResult, config: IngestionConfig) -> ScreenedImages:
    """Metadata, exact and near duplicates against the catalog, reasons for each refusal."""
    settings = get_settings()
    policy = ScreeningPolicy(
        rules=ImageRules.from_suite(),
        max_pixels=settings.max_image_pixels,
        near_duplicate_distance=config.near_duplicate_distance,
        # A photo the splitter would have to put in a split its source may not join is refused here.
        closed_splits=frozenset(SPLITS) - set(open_splits(scan.source)),
        group_distance=config.group_distance,
    )
    result = screen_files(scan.files, load_images(catalog_engine(settings)), policy, datetime.now(UTC))
    return ScreenedImages(
        source=scan.source,
        admitted=result.admitted,
        unchanged=result.unchanged,
        rejections=with_content_hashes(scan.rejections, policy.rules.max_bytes) + result.rejections,
        missing_labels=scan.missing_labels,
    )
