"""Step: write images, rejections and the dataset version to the catalog in one transaction."""

from datetime import UTC, datetime
from typing import Annotated

from zenml import step

from greenr.ingestion.catalog_writer import record_ingestion
from greenr.ingestion.dataset_plan import DatasetPlan, ScreenedImages
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.ingestion.store_objects import StoredObjects
from greenr.resources import catalog_engine
from greenr.settings import get_settings
from materializers.dataset_version_materializer import DatasetVersionMaterializer


@step(output_materializers={"dataset_version": DatasetVersionMaterializer})
def record_catalog_step(
    screened: ScreenedImages, plan: DatasetPlan, stored: StoredObjects
) -> tuple[Annotated[DatasetVersion, "dataset_version"], Annotated[dict[str, int], "catalog_rows_inserted"]]:
    """All rows or none: a failure here leaves the catalog as it was."""
    engine = catalog_engine(get_settings())
    # ZenML detects multiple outputs from a literal `return a, b` in the source, not from a call.
    version, inserted = record_ingestion(engine, screened, plan, stored, datetime.now(UTC))
    return version, inserted
