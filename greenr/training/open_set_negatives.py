"""The out-of-domain pictures outlier exposure learns "neither" from, as model inputs.

The development photos under `Settings.open_set_negatives_dir` (`<folder>/<kind>/*.jpg`; by
default ../shared/data/neither, 100 flowers that are not dandelions, all of them used in
production training), when configured scikit-image's far-domain pictures
(greenr/open_set/far_domain.py), and generated pictures (greenr/open_set/synthetic_negatives.py).
Without the folder (a fresh machine) there are none, and the training step falls back to an
in-domain method.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from greenr.images.preprocess import DRAFT_MARGIN, decode_model_input
from greenr.open_set.synthetic_negatives import FIRST_KINDS, synthetic_negatives

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NegativePictures:
    """Model inputs (N x S x S x 3, uint8) of the development photos, the far-domain pictures, then
    the generated pictures."""

    images: npt.NDArray[np.uint8]
    development: int
    synthetic: int
    far_domain: int = 0
    derived: int = 0
    """Pictures made from train photos, last (greenr/open_set/derived_negatives.py)."""


def with_derived(negatives: NegativePictures, derived: npt.NDArray[np.uint8]) -> NegativePictures:
    """The negatives with pictures made from train photos appended (same size required)."""
    if derived.shape[1:] != negatives.images.shape[1:]:
        raise ValueError(
            f"derived pictures of shape {derived.shape[1:]}, negatives {negatives.images.shape[1:]}"
        )
    return NegativePictures(
        images=np.concatenate([negatives.images, derived]),
        development=negatives.development,
        synthetic=negatives.synthetic,
        far_domain=negatives.far_domain,
        derived=negatives.derived + len(derived),
    )


def development_photo_paths(folder: Path) -> list[Path]:
    """The folder's `<kind>/*.jpg` photos in a fixed order; empty when the folder is missing."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.glob("*/*.jpg") if path.is_file())


def load_negative_pictures(
    folder: Path,
    synthetic: int,
    seed: int,
    size: int,
    max_pixels: int,
    draft_margin: int = DRAFT_MARGIN,
    kinds: Sequence[str] = FIRST_KINDS,
    far_domain: Sequence[bytes] = (),
) -> NegativePictures | None:
    """The development photos, the `far_domain` uploads and `synthetic` generated pictures of
    `kinds`, decoded as uploads are; None when the folder holds no photo (the caller falls back to
    an in-domain method)."""
    paths = development_photo_paths(folder)
    if not paths:
        return None
    blobs = [path.read_bytes() for path in paths] + list(far_domain)
    blobs += synthetic_negatives(synthetic, seed, kinds)
    images = np.stack(
        [decode_model_input(blob, max_pixels, size, draft_margin=draft_margin) for blob in blobs]
    )
    log.info(
        "open set: %d development photos from %s, %d far-domain and %d generated pictures",
        len(paths),
        folder,
        len(far_domain),
        synthetic,
    )
    return NegativePictures(
        images=images, development=len(paths), synthetic=synthetic, far_domain=len(far_domain)
    )
