"""Step: write the whylogs profiles of the run's predictions under processed/profiles/predictions/."""

from zenml import step

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.prediction_profiles import write_profiles
from greenr.resources import object_store
from greenr.settings import get_settings


@step
def profile_predictions_step(collected: CollectedLog) -> list[str]:
    """One profile per model version of the predictions this run consumes; the keys written."""
    return write_profiles(object_store(get_settings()), collected.consumed)
