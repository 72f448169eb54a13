"""Writing the objects of one ingestion: originals, split copies, quarantine, manifest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from greenr.ingestion.dataset_plan import DatasetPlan, ScreenedImages, manifest_bytes
from greenr.ingestion.layout import quarantine_key, raw_key, split_key
from greenr.storage.object_store import ObjectStore

logger = logging.getLogger(__name__)


class StoredObjects(BaseModel):
    """What the store holds for this ingestion; `written` counts objects that were new."""

    root: str
    written: int
    planned: int
    quarantine_keys: dict[str, str]  # rejected file path -> quarantine key
    manifest_uri: str


def _reader(path: str) -> Callable[[], bytes]:
    return lambda: Path(path).read_bytes()


def store_ingestion(store: ObjectStore, screened: ScreenedImages, plan: DatasetPlan) -> StoredObjects:
    """Upload every object the ingestion needs that is not already there (content-addressed)."""
    store.check_reachable()
    split_of = plan.split_of()
    objects: dict[str, Callable[[], bytes]] = {}
    for record in screened.admitted:
        objects[raw_key(record)] = _reader(record.path)
        objects[split_key(record, split_of[record.sha256])] = _reader(record.path)
    quarantined: dict[str, str] = {}
    for rejection in screened.rejections:
        key = quarantine_key(rejection)
        if key is not None:
            objects[key] = _reader(rejection.path)
            quarantined[rejection.path] = key
    objects[plan.manifest_key] = lambda: manifest_bytes(plan)
    written = store.put_missing(objects, progress=_log_progress)
    logger.info(
        "object store %s: %d new objects, %d already present", store.root, written, len(objects) - written
    )
    return StoredObjects(
        root=store.root,
        written=written,
        planned=len(objects),
        quarantine_keys=quarantined,
        manifest_uri=store.uri(plan.manifest_key),
    )


def _log_progress(done: int, total: int) -> None:
    step = max(1, total // 10)
    if done % step == 0 or done == total:
        logger.info("uploaded %d/%d objects", done, total)
