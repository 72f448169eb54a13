"""The drift benchmark's photos: the greenr dataset split like ingestion splits it, and
out-of-domain pictures (the "neither" flowers and scikit-image's sample pictures).

The dataset folder is read in place (never copied into the repository). The split is the
ingestion's own algorithm (`assign_splits`, configs/ingestion.yaml's seed and group distance, the
project's 70/15/15 fractions) applied to the dataset's files, so it is the split a fresh
quickstart gives these photos.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy.typing as npt

from greenr.contracts import LABELS, SPLIT_FRACTIONS
from greenr.images.decoding import decode_image
from greenr.images.perceptual_hash import dhash
from greenr.ingestion.config import load_ingestion_config
from greenr.ingestion.split import SplitItem, assign_splits
from greenr.open_set import far_domain

DATASET_DIR: Final = Path("/work/shared/data/greenr")
NEITHER_DIR: Final = Path("/work/shared/data/neither")
MAX_PIXELS: Final = 50_000_000

SKIMAGE_PICTURES: Final = far_domain.PICTURES[:15]
"""scikit-image's sample pictures of the drift benchmark's out-of-domain source: the first 15 of
greenr/open_set/far_domain.py's list (the ones it had before the rest were added)."""


@dataclass(frozen=True)
class Photo:
    """One photo file: its bytes, its true label (None when out of domain) and its split."""

    name: str
    data: bytes
    label: str | None
    split: str | None


def dataset_photos(folder: Path = DATASET_DIR, seed: int | None = None) -> list[Photo]:
    """Every dataset photo with its label and the ingestion's seeded split (another `seed` gives
    another split of the same algorithm, for benchmarks that repeat over splits)."""
    files = [(label, path) for label in LABELS for path in sorted((folder / label).glob("*.jpg"))]
    if not files:
        raise SystemExit(f"no photos under {folder}/<label>/*.jpg: point --dataset at the greenr photos")
    blobs = [path.read_bytes() for _, path in files]
    items = [
        SplitItem(hashlib.sha256(data).hexdigest(), label, dhash(decode_image(data, MAX_PIXELS).image))
        for (label, _), data in zip(files, blobs, strict=True)
    ]
    ingestion = load_ingestion_config()
    split_seed = ingestion.seed if seed is None else seed
    split = assign_splits(items, {}, SPLIT_FRACTIONS, split_seed, ingestion.group_distance)
    return [
        Photo(f"{label}/{path.name}", data, label, split[item.sha256])
        for (label, path), data, item in zip(files, blobs, items, strict=True)
    ]


def out_of_domain_photos(neither: Path = NEITHER_DIR) -> list[Photo]:
    """The "neither" flowers plus scikit-image's pictures."""
    photos = [
        Photo(f"neither/{path.parent.name}/{path.name}", path.read_bytes(), None, None)
        for path in sorted(neither.glob("*/*.jpg"))
    ]
    far = far_domain.far_domain_uploads(SKIMAGE_PICTURES)
    return photos + [Photo(f"skimage/{name}", data, None, None) for name, data in far]


def picture_photo(name: str, pixels: npt.NDArray[Any]) -> Photo:
    """An out-of-domain Photo from a picture's pixels (uint8, or floats in 0..1), as a JPEG upload."""
    return Photo(name, far_domain.jpeg_upload(pixels), None, None)
