"""Step: upload originals, split copies, quarantined files and the manifest."""

from zenml import step

from greenr.ingestion.dataset_plan import DatasetPlan, ScreenedImages
from greenr.ingestion.store_objects import StoredObjects, store_ingestion
from greenr.resources import object_store
from greenr.settings import get_settings


@step
def store_objects_step(screened: ScreenedImages, plan: DatasetPlan) -> StoredObjects:
    """Content-addressed uploads: objects already present are skipped."""
    return store_ingestion(object_store(get_settings()), screened, plan)
