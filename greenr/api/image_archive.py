"""Where the API keeps image bytes: every predicted image, and the ones users labelled.

- At prediction time each image is written content-addressed to `predictions/<sha256>.<ext>`:
  the same photo sent a thousand times is one object, and POST /feedback (which only carries a
  prediction id) can still find the bytes later, on any replica, after any restart.
- On feedback the object is copied to `feedback/<label>/<sha256>.<ext>`: the same layout as the
  source dataset (one folder per class), so retraining can ingest `feedback/` as it is. A photo
  answered "neither" goes to `open-set/neither/<sha256>.<ext>` instead: never training data for
  a class, kept to calibrate open-set rejection.
  The catalog's `feedback` table stays the source of truth; a photo is under one label or none
  (`feedback_filing.filed_label` decides from all the answers on it; `refile` makes the store match).

Both are best effort: the object store being down must not block a prediction or lose a
feedback row, so failures are logged and the prediction row keeps `object_key = None`.
`predictions/` can be expired with a bucket lifecycle rule (say 30 days): feedback normally
arrives within minutes.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from greenr.api.uploads import AcceptedImage
from greenr.contracts import ANSWERS
from greenr.monitoring.feedback_labels import FEEDBACK_PREFIX, OPEN_SET_PREFIX
from greenr.open_set.scorer import NEITHER
from greenr.storage.object_store import ObjectStore, StorageUnavailable

logger = logging.getLogger(__name__)

PREDICTIONS_PREFIX = "predictions"


def prediction_key(image: AcceptedImage) -> str:
    return f"{PREDICTIONS_PREFIX}/{image.sha256}.{image.extension}"


def feedback_key(object_key: str, label: str) -> str:
    """Where a photo answered `label` is filed: `feedback/<class>/` (training data) or, for
    "neither", `open-set/neither/` (calibration only: retraining never ingests it)."""
    prefix = OPEN_SET_PREFIX if label == NEITHER else FEEDBACK_PREFIX
    return f"{prefix}/{label}/{PurePosixPath(object_key).name}"


class ImageArchive:
    """Keeps predicted images and files the labelled ones under feedback/."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        # Refiling one photo reads the catalog, then moves objects: two answers on the same photo
        # must not interleave, or the older decision could be applied last. Striped locks bound
        # the memory. They hold within this process; several replicas would need a database
        # lock (e.g. PostgreSQL's pg_advisory_xact_lock on the hash).
        self._locks = [threading.Lock() for _ in range(64)]

    @contextmanager
    def photo_lock(self, sha256: str) -> Iterator[None]:
        """Hold while deciding and applying where one photo is filed."""
        with self._locks[zlib.crc32(sha256.encode()) % len(self._locks)]:
            yield

    def keep(self, image: AcceptedImage) -> str | None:
        """Write the image under predictions/ (idempotent); its key, or None when the store failed."""
        key = prediction_key(image)
        try:
            self.store.put(key, image.data)
        except StorageUnavailable as error:
            logger.warning("could not keep %s for feedback: %s", key, error)
            return None
        return key

    def refile(self, object_key: str | None, label: str | None) -> str | None:
        """Make the photo sit under `label` only (None: under no label); its key under feedback/, or None.

        Best effort, like `keep`: a failure is logged, and the next answer on the photo
        repairs the store, since the decision is always made again from the catalog.
        """
        if object_key is None:
            logger.warning("feedback: the predicted image was not kept, nothing to file")
            return None
        filed = None
        try:
            if label is not None:
                filed = feedback_key(object_key, label)
                self.store.put(filed, self.store.get(object_key))
            for other in ANSWERS:
                if other != label:
                    self.store.delete(feedback_key(object_key, other))
        except (StorageUnavailable, FileNotFoundError) as error:
            logger.warning("could not file %s under %s: %s", object_key, label, error)
            return None
        return filed
