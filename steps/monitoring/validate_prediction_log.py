"""Step: validate the period's prediction log with Great Expectations."""

import logging
from typing import Annotated

from zenml import step
from zenml.types import HTMLString

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.log_validation import model_key, validate_log
from greenr.monitoring.published import published_metadata
from greenr.resources import object_store
from greenr.settings import get_settings
from greenr.validation.report import ValidationReport, raise_on_failure


@step
def validate_prediction_log_step(
    collected: CollectedLog,
) -> tuple[Annotated[ValidationReport, "log_validation"], Annotated[HTMLString, "log_validation_html"]]:
    """Run the `prediction_log` suite; a failure stops the run with a message naming the expectation."""
    # GE logs hundreds of INFO lines about its own plugin registry; they bury the useful output.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    store = object_store(get_settings())
    # The rows left for the next run too: a bad row is reported now, not when its window fills.
    log = [*collected.consumed, *collected.pending]
    answering = {(p.model_name, p.model_version) for p in log}
    published = {model_key(*key) for key in answering if published_metadata(store, *key) is not None}
    report = validate_log(log, published)
    raise_on_failure(report)
    return report, HTMLString(report.to_html())
