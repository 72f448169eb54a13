"""A dataset version's images as in-memory arrays, preprocessed exactly as the model server does.

The photos are thumbnails (400 of them take ~60 MB as 224x224x3 uint8), so every split is
decoded once into memory; tf.data pipelines are built from these arrays.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from greenr.contracts import LABELS, MODEL_INPUT_SIZE, SPLITS, Split
from greenr.images.preprocess import DRAFT_MARGIN, decode_model_input
from greenr.storage.object_store import ObjectStore

log = logging.getLogger(__name__)

# Settings' default decompression-bomb limit (GREENR_MAX_IMAGE_PIXELS); callers pass theirs.
DEFAULT_MAX_PIXELS = 40_000_000


class ManifestMember(BaseModel):
    """One image of a dataset version."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sha256: str
    label: str
    split: Split
    key: str
    raw_key: str


class Manifest(BaseModel):
    """A dataset version as written by the ingestion pipeline (`processed/datasets/<id>.json`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    created_at: str
    parameters: dict[str, object] = {}
    counts: dict[str, dict[str, int]] = {}
    members: list[ManifestMember]


class DatasetVersionNotFound(FileNotFoundError):
    """The requested dataset version has no manifest in the object store."""


def manifest_key(version_id: str) -> str:
    """Object key of a dataset version's manifest."""
    return f"processed/datasets/{version_id}.json"


def read_manifest(store: ObjectStore, version_id: str) -> Manifest:
    """The manifest of a dataset version, read from the object store."""
    try:
        data = store.get(manifest_key(version_id))
    except FileNotFoundError:
        raise DatasetVersionNotFound(
            f"dataset version {version_id!r} not found at {store.uri(manifest_key(version_id))}: "
            "run the ingestion pipeline first or pass an existing version id"
        ) from None
    return Manifest.model_validate(json.loads(data))


@dataclass(frozen=True)
class SplitArrays:
    """Images (uint8 N×H×W×3, model input), integer labels (N,) and the images' sha256 (N)."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    sha256: list[str]

    def __post_init__(self) -> None:
        if not (len(self.images) == len(self.labels) == len(self.sha256)):
            raise ValueError(
                f"images ({len(self.images)}), labels ({len(self.labels)}) and "
                f"sha256 ({len(self.sha256)}) must have the same length"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: Sequence[int] | npt.NDArray[np.int64]) -> SplitArrays:
        """The subset at `indices`, in that order."""
        index = np.asarray(indices, dtype=np.int64)
        return SplitArrays(
            images=self.images[index], labels=self.labels[index], sha256=[self.sha256[i] for i in index]
        )


def without_photos(split: SplitArrays, sha256: Iterable[str]) -> SplitArrays:
    """The split without the photos whose sha256 is listed (order kept)."""
    excluded = set(sha256)
    keep = np.asarray([i for i, digest in enumerate(split.sha256) if digest not in excluded], dtype=np.int64)
    return split.take(keep)


def decode_to_arrays(
    read: Callable[[str], bytes],
    keys: Sequence[str],
    labels: Sequence[int],
    sha256: Sequence[str],
    *,
    size: int = MODEL_INPUT_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_margin: int = DRAFT_MARGIN,
    what: str = "images",
) -> SplitArrays:
    """Read and preprocess images one by one (`read(key) -> bytes`), logging progress every ~10%."""
    images = np.empty((len(keys), size, size, 3), dtype=np.uint8)
    step = max(1, len(keys) // 10)
    for index, key in enumerate(keys):
        images[index] = decode_model_input(read(key), max_pixels, size, draft_margin=draft_margin)
        if (index + 1) % step == 0 or index + 1 == len(keys):
            log.info("loaded %d/%d %s", index + 1, len(keys), what)
    return SplitArrays(images=images, labels=np.asarray(labels, dtype=np.int64), sha256=list(sha256))


def load_split_arrays(
    store: ObjectStore,
    manifest: Manifest,
    size: int = MODEL_INPUT_SIZE,
    *,
    labels: Sequence[str] = LABELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_margin: int = DRAFT_MARGIN,
) -> dict[str, SplitArrays]:
    """Every split of a dataset version as arrays; class index = position of the label in `labels`.

    `labels` is the project's class order (`greenr.contracts.LABELS`) unless a test says otherwise.
    """
    index_of: Mapping[str, int] = {label: i for i, label in enumerate(labels)}
    unknown = sorted({m.label for m in manifest.members} - set(index_of))
    if unknown:
        raise ValueError(f"dataset {manifest.id} has labels {unknown} that are not among {list(labels)}")
    result: dict[str, SplitArrays] = {}
    for split in SPLITS:
        # Sorted by sha256 so the array order never depends on how the manifest was written.
        members = sorted((m for m in manifest.members if m.split == split), key=lambda m: m.sha256)
        result[split] = decode_to_arrays(
            store.get,
            [m.key for m in members],
            [index_of[m.label] for m in members],
            [m.sha256 for m in members],
            size=size,
            max_pixels=max_pixels,
            draft_margin=draft_margin,
            what=f"{split} images of {manifest.id}",
        )
    return result
