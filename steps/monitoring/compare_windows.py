"""Step: compare each window with the reference of the model version that answered it."""

from greenr.monitoring.drift_tests import compare_window
from zenml import step

from greenr.features.definitions import feature_set
from greenr.features.reference import FeatureReference
from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.comparison import VersionKey, compare_windows
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.published import ReferenceUnreadable, published_reference
from greenr.monitoring.report import WindowReport
from greenr.resources import object_store
from greenr.settings import get_settings


@step
def compare_windows_step(collected: CollectedLog, config: MonitoringConfig) -> list[WindowReport]:
    """Every window's column tests, or the reason it was skipped (no reference, other feature set)."""
    store = object_store(get_settings())
    references: dict[VersionKey, FeatureReference | str | None] = {}
    for window in collected.windowing.windows:
        key = (window.model_name, window.model_version)
        if key not in references:
            try:
                references[key] = published_reference(store, *key)
            except ReferenceUnreadable as error:
                references[key] = str(error)
    return compare_windows(collected.windowing.windows, references, feature_set(), config, compare_window)
