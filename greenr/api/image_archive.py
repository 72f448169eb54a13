"""Where the API keeps image bytes: every predicted image, and the ones users labelled.

- At prediction time each image is written content-addressed to `predictions/<sha256>.<ext>`:
  the same photo sent a thousand times is one object, and POST /feedback (which only carries a
  prediction id) can still find the bytes later, on any replica, after any restart.
- On feedback the object is copied to `feedback/<label>/<sha256>.<ext>`: the same layout as the
  source dataset (one folder per class), so retraining can ingest `feedback/` as it is.
  The catalog's `feedback` table stays the source of truth (if two users disagree, the image
  sits under both labels; the ingestion's duplicate screening sees it).

Both are best effort: the object store being down must not block a prediction or lose a
feedback row, so failures are logged and the prediction row keeps `object_key = None`.
`predictions/` can be expired with a bucket lifecycle rule (say 30 days): feedback normally
arrives within minutes.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from greenr.api.uploads import AcceptedImage
from greenr.storage.object_store import ObjectStore, StorageUnavailable

logger = logging.getLogger(__name__)

PREDICTIONS_PREFIX = "predictions"
FEEDBACK_PREFIX = "feedback"


def prediction_key(image: AcceptedImage) -> str:
    return f"{PREDICTIONS_PREFIX}/{image.sha256}.{image.extension}"


def feedback_key(object_key: str, label: str) -> str:
    return f"{FEEDBACK_PREFIX}/{label}/{PurePosixPath(object_key).name}"


class ImageArchive:
    """Keeps predicted images and files the labelled ones under feedback/."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def keep(self, image: AcceptedImage) -> str | None:
        """Write the image under predictions/ (idempotent); its key, or None when the store failed."""
        key = prediction_key(image)
        try:
            self.store.put(key, image.data)
        except StorageUnavailable as error:
            logger.warning("could not keep %s for feedback: %s", key, error)
            return None
        return key

    def file_feedback(self, object_key: str | None, label: str) -> str | None:
        """Copy a predicted image under feedback/<label>/; its new key, or None when it could not."""
        if object_key is None:
            logger.warning("feedback %s: the predicted image was not kept, nothing to copy", label)
            return None
        key = feedback_key(object_key, label)
        try:
            self.store.put(key, self.store.get(object_key))
        except (StorageUnavailable, FileNotFoundError) as error:
            logger.warning("could not copy %s to %s: %s", object_key, key, error)
            return None
        return key
