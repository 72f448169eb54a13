"""Step: validate the would-be dataset (catalog + new images) with Great Expectations."""

import logging
from typing import Annotated

from zenml import step
from zenml.types import HTMLString

from greenr.catalog.repository import load_images
from greenr.ingestion.dataset_plan import ScreenedImages
from greenr.resources import catalog_engine
from greenr.settings import get_settings
from greenr.validation.image_validation import ValidationReport, raise_on_failure, validate_images


@step
def validate_dataset_step(
    screened: ScreenedImages,
) -> tuple[Annotated[ValidationReport, "validation_report"], Annotated[HTMLString, "validation_report_html"]]:
    """Run the suites; a failed suite stops the pipeline with a message naming the expectation."""
    # GE logs hundreds of INFO lines about its own plugin registry; they bury the useful output.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    catalog = load_images(catalog_engine(get_settings()))
    report = validate_images([image.record for image in catalog] + screened.admitted)
    raise_on_failure(report)
    return report, HTMLString(report.to_html())
