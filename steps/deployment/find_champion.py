"""Step: look up the champion in the model registry."""

from zenml import step

from greenr.deployment.tasks import find_champion
from greenr.registry.model_registry import VersionInfo
from greenr.settings import get_settings


@step
def find_champion_step() -> VersionInfo:
    """The version aliased `champion`; fails with "run the training pipeline first" if none."""
    return find_champion(get_settings())
