"""The compression quality of a JPEG upload, read from its header instead of its pixels.

A JPEG file carries the quantization tables it was compressed with; libjpeg (and Pillow, and
most phones' encoders derive from it) scales one standard luma table by the quality setting.
Matching the file's luma table against that scale gives the quality a person would have chosen
to produce it, for free: no pixel is looked at. Heavy compression blurs and blocks a photo, and
the pixel statistics of the feature set only see part of it after the resize to the model's
input (benchmarks/results/drift.json), so monitoring reads it here. numpy and Pillow only: the
model server imports this module.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from PIL import Image

# libjpeg's standard luminance quantization table (ITU-T T.81, Annex K.1), in natural order,
# which is the order Pillow (>= 8.3) returns a file's tables in.
STANDARD_LUMA_TABLE: Final = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
).ravel()


def estimated_jpeg_quality(image: Image.Image) -> float | None:
    """libjpeg's quality (1-100) whose scaled standard table matches the file's luma table.

    The scale is the median ratio of the file's entries to the standard ones (robust to the
    entries libjpeg clips at 1 and 255 and to encoders with tables of their own), turned back
    into a quality by inverting libjpeg's `jpeg_quality_scaling`. None for a non-JPEG image or a
    JPEG without a usable 8 x 8 luma table.
    """
    tables = getattr(image, "quantization", None)
    if image.format != "JPEG" or not tables or 0 not in tables:
        return None
    luma = np.asarray(tables[0], dtype=np.float64)
    if luma.shape != STANDARD_LUMA_TABLE.shape or not np.all(luma > 0):
        return None
    scale = 100.0 * float(np.median(luma / STANDARD_LUMA_TABLE))
    # libjpeg: scale = 5000 / quality below 50, 200 - 2 * quality from 50 on.
    quality = 5000.0 / scale if scale > 100.0 else (200.0 - scale) / 2.0
    return float(min(100.0, max(1.0, quality)))
