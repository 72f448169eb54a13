"""Step: find the dataset version to train on."""

from zenml import step

from greenr.ingestion.dataset_version import DatasetVersion, resolve_dataset_version
from greenr.resources import catalog_engine, object_store
from greenr.settings import get_settings
from materializers.dataset_version_materializer import DatasetVersionMaterializer


@step(output_materializers=DatasetVersionMaterializer)
def resolve_dataset_step(dataset_version: str | None = None) -> DatasetVersion:
    """The named version, or the latest; fails with "run the ingestion pipeline first" if none."""
    settings = get_settings()
    store = object_store(settings)
    return resolve_dataset_version(catalog_engine(settings), store.root, store.uri, dataset_version)
