"""Far-domain pictures for outlier exposure: scikit-image's sample pictures (a cat, an astronaut,
a coffee cup, a page of text, microscopy...), as JPEG uploads.

They ship inside the scikit-image wheel, so every machine with the training environment has them
without a download. Outlier exposure learns "neither" from them next to the near-domain flowers:
without them the scorer only ever saw flowers and generated pictures, and the configured method
flagged 39 % of the held-out far-domain pictures (a cat, a coffee cup answered as dandelion or
grass); with them 88 % (README "Open-set rejection").

The open-set benchmark splits them like the flowers (`halves`): the scorer it measures learns from
the development half and is measured on the held-out half; production training learns from all.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

PICTURES: Final = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "colorwheel",
    "page",
    "text",
    "moon",
    "horse",
    "clock",
    "coins",
    "motorcycle",
    "brick",
    "gravel",
    "logo",
    "cell",
    "checkerboard",
    "microaneurysms",
)
"""scikit-image sample pictures that are neither dandelion nor grass and ship with the package.
Left out: `grass` (a grass texture), `cat` (chelsea again) and every picture scikit-image would
download (the machines have no internet)."""
HALVES_SEED: Final = 17
"""Seed of the development / held-out halves (the benchmark's hold-out seed; fixed, never tuned)."""


def _loaders() -> dict[str, Callable[[], npt.NDArray[Any]]]:
    # Imported here: training and the benchmarks need scikit-image, the model server does not.
    from skimage import data

    special: dict[str, Callable[[], npt.NDArray[Any]]] = {
        "motorcycle": lambda: np.asarray(data.stereo_motorcycle()[0]),  # type: ignore[no-untyped-call]
        "logo": lambda: np.asarray(data.logo())[..., :3],  # type: ignore[no-untyped-call]
    }
    return {name: special[name] if name in special else getattr(data, name) for name in PICTURES}


def jpeg_upload(pixels: npt.NDArray[Any]) -> bytes:
    """A picture's pixels (uint8, or floats in 0..1; grey or RGB) as a quality-90 JPEG upload."""
    array = pixels if pixels.dtype == np.uint8 else (np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def far_domain_uploads(names: Sequence[str] = PICTURES) -> list[tuple[str, bytes]]:
    """(name, JPEG bytes) of the named pictures, in the given order.

    Raises:
        ValueError: a name is not in PICTURES.
    """
    unknown = sorted(set(names) - set(PICTURES))
    if unknown:
        raise ValueError(f"unknown far-domain pictures {unknown}; known: {', '.join(PICTURES)}")
    loaders = _loaders()
    return [(name, jpeg_upload(np.asarray(loaders[name]()))) for name in names]


def halves(names: Sequence[str] = PICTURES, seed: int = HALVES_SEED) -> tuple[list[str], list[str]]:
    """The names in a development half and a held-out half (a seeded shuffle; the development half
    is the smaller one when the count is odd)."""
    shuffled = sorted(names)
    random.Random(f"{seed}:far").shuffle(shuffled)
    middle = len(shuffled) // 2
    return shuffled[:middle], shuffled[middle:]
