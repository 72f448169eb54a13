"""What the drift benchmark does to a photo before "uploading" it: a light, realistic variation
(every photo, shifted or not) and the shifts the monitoring must notice.

A variant is made from the original file: decoded upright RGB -> random crop (each side keeps
90-100 %), resized back to the photo's size -> random left-right flip -> the shift, if any -> JPEG
re-encoding (quality 75-95, or 10 for the JPEG shift). The result is the upload's bytes, which
go through the model server's own decoding (`decode_sized_model_input`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Final

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from greenr.images.decoding import decode_image
from greenr.images.preprocess import as_rgb, upright

from .drift_photos import MAX_PIXELS

CROP_KEEP: Final = (0.90, 1.0)
"""Share of each side a light variation keeps."""
JPEG_QUALITY: Final = (75, 95)
"""JPEG quality range of a light variation's re-encoding (what phones and browsers use)."""

ImageShift = Callable[[Image.Image], Image.Image]


def _dusk(image: Image.Image) -> Image.Image:
    return Image.fromarray((np.asarray(image, dtype=np.float32) * 0.6).round().astype(np.uint8))


def _grayscale(image: Image.Image) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def _blur(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius=2))


IMAGE_SHIFTS: Final[dict[str, ImageShift]] = {
    "brightness x0.6": _dusk,
    "grayscale": _grayscale,
    "gaussian blur r2": _blur,
}
"""Shifts of the pixels; the JPEG shift changes the encoding instead (`variant(quality=10)`)."""
JPEG_SHIFT: Final = "jpeg quality 10"
JPEG_SHIFT_QUALITY: Final = 10


def variant(
    data: bytes,
    rng: np.random.Generator,
    shift: ImageShift | None = None,
    quality: int | None = None,
    keep_size: bool = False,
) -> bytes:
    """One upload made from a photo file: the light variation, then `shift`, then JPEG bytes.

    `keep_size`: the crop is resized back to the photo's size (otherwise the upload is smaller).
    """
    decoded = decode_image(data, MAX_PIXELS)
    image = as_rgb(upright(decoded.image))
    width, height = image.size
    keep_w, keep_h = rng.uniform(*CROP_KEEP, size=2)
    crop_w, crop_h = max(1, round(width * keep_w)), max(1, round(height * keep_h))
    left = int(rng.integers(0, width - crop_w + 1))
    top = int(rng.integers(0, height - crop_h + 1))
    image = image.crop((left, top, left + crop_w, top + crop_h))
    if keep_size:
        # Off by default: upsampling the crop by up to 11 % per side is a blur a camera framing
        # the scene differently does not add (13 % less sharpness on the validation photos, the
        # cause of the selection windows' false alarms); the smaller upload it avoids only moves
        # the width and height columns, which are informational.
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if shift is not None:
        image = shift(image)
    buffer = io.BytesIO()
    jpeg_quality = quality if quality is not None else int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    image.save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()
