"""Recording an ingestion in the catalog (after its objects are safely stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from greenr.catalog.repository import DatasetVersionRow, NewImage, QuarantinedFile, write_ingestion
from greenr.ingestion.dataset_plan import DatasetPlan, ScreenedImages
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.ingestion.layout import raw_key
from greenr.ingestion.store_objects import StoredObjects


def record_ingestion(
    engine: Engine, screened: ScreenedImages, plan: DatasetPlan, stored: StoredObjects, now: datetime
) -> tuple[DatasetVersion, dict[str, int]]:
    """Write new images, rejections and the version atomically; return the version and row counts."""
    split_of = plan.split_of()
    images = [NewImage(record=r, split=split_of[r.sha256], object_key=raw_key(r)) for r in screened.admitted]
    rejections = [
        QuarantinedFile(rejection=r, quarantine_key=stored.quarantine_keys.get(r.path))
        for r in screened.rejections
    ]
    row = DatasetVersionRow(
        id=plan.version_id,
        created_at=plan.created_at,
        manifest_key=plan.manifest_key,
        counts=plan.counts,
        parameters=plan.parameters,
        members=split_of,
    )
    inserted = write_ingestion(engine, images, rejections, row, now)
    version = DatasetVersion(
        id=plan.version_id,
        created_at=plan.created_at,
        counts=plan.counts,
        parameters=plan.parameters,
        manifest_uri=stored.manifest_uri,
        store_root=stored.root,
    )
    return version, inserted
