"""Step: Great Expectations on the dataset version's splits."""

import logging
from typing import Annotated

from zenml import step
from zenml.types import HTMLString

from greenr.ingestion.dataset_version import DatasetVersion
from greenr.settings import get_settings
from greenr.training.split_checks import validate_splits
from greenr.validation.report import ValidationReport, raise_on_failure


@step
def validate_splits_step(
    version: DatasetVersion,
) -> tuple[
    Annotated[ValidationReport, "split_validation_report"], Annotated[HTMLString, "split_validation_html"]
]:
    """Split sizes, class balance per split, no image or near-duplicate in two splits."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    report = validate_splits(get_settings(), version, int(version.parameters.get("group_distance", 6)))
    raise_on_failure(report)
    return report, HTMLString(report.to_html())
