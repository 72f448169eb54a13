"""The `image` columns of feature_set.yaml, computed from the pixels the model is fed.

Our own statistics from the decoded pixels rather than whylogs' image metrics, for two reasons:
the model server computes the same columns for every prediction in its own environment, which
has numpy and Pillow but no whylogs (nor pydantic, which whylogs needs); and computing them on
the model input (S x S x 3 uint8, S = the model's input side) gives a fixed, small cost whatever
the upload's size, where whylogs' metrics read the full-size image through Pillow. The same
function runs on the training photos (the reference) and in serving, so both sides agree by
construction. numpy only: the model server imports this module.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

# ITU-R BT.601 luma weights (feature_set.yaml: brightness).
LUMA_WEIGHTS: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Pixels less saturated than this have no meaningful hue (feature_set.yaml: hue).
HUE_MIN_SATURATION: Final = 0.2
# JPEG uploads of a lower estimated quality are "heavy" (feature_set.yaml: jpeg_compression):
# below it blocks and ringing are visible at a glance. The training photos were saved at 72-78
# and other cameras and apps save at other qualities (the drift benchmark's uploads at 75-95), so
# a numeric test on the quality itself would flag every change of camera (jpeg_quality is
# reported, not part of the verdict).
HEAVY_JPEG_QUALITY: Final = 50.0


def image_columns(
    model_input: npt.NDArray[np.uint8], width: int, height: int, jpeg_quality: float | None = None
) -> dict[str, float | int | str | None]:
    """brightness ... jpeg_compression (feature_set.yaml, source `image`) of one photo.

    Args:
        model_input: the model's input, uint8 S x S x 3 RGB (`decode_model_input`).
        width: the upload's width in pixels, after EXIF orientation.
        height: the upload's height likewise.
        jpeg_quality: the upload's estimated JPEG quality (`SizedModelInput.jpeg_quality`), None
            when it is not a JPEG: both JPEG columns are then empty.

    Raises:
        ValueError: the array is not H x W x 3 uint8, or a size is not positive.
    """
    if model_input.dtype != np.uint8 or model_input.ndim != 3 or model_input.shape[2] != 3:
        raise ValueError(
            "image columns need the model input as uint8 H x W x 3, "
            f"got {model_input.dtype} {model_input.shape}"
        )
    if width <= 0 or height <= 0:
        raise ValueError(f"image columns need a positive upload size, got {width} x {height}")
    rgb = model_input.astype(np.float32)
    # Element-wise, not `rgb @ LUMA_WEIGHTS`: a matrix product's kernel (and its rounding) depends
    # on the array's memory layout and the CPU, and luma near a half level then rounds to another
    # entropy bin.
    luma = rgb[..., 0] * LUMA_WEIGHTS[0] + rgb[..., 1] * LUMA_WEIGHTS[1] + rgb[..., 2] * LUMA_WEIGHTS[2]
    saturation, hue = _saturation_and_hue(model_input)
    return {
        "brightness": float(luma.mean() / 255.0),
        "contrast": float(luma.std() / 255.0),
        "saturation": saturation,
        "hue": hue,
        "entropy": luma_entropy(luma),
        "sharpness": laplacian_sharpness(luma),
        "width": int(width),
        "height": int(height),
        "aspect_ratio": float(width / height),
        "jpeg_quality": None if jpeg_quality is None else float(jpeg_quality),
        "jpeg_compression": _compression(jpeg_quality),
    }


def _compression(jpeg_quality: float | None) -> str | None:
    """`heavy` or `normal` for a JPEG upload, None for another format."""
    if jpeg_quality is None:
        return None
    return "heavy" if jpeg_quality < HEAVY_JPEG_QUALITY else "normal"


def _saturation_and_hue(model_input: npt.NDArray[np.uint8]) -> tuple[float, float]:
    """Mean HSV saturation, and the circular mean HSV hue of the pixels saturated >= 0.2.

    Integer arithmetic where it can be (exact, and fewer float passes): saturation is
    spread / max of the channels, and s >= 0.2 is 5 * spread >= max exactly. Every pixel's hue
    is computed and the unsaturated ones weigh 0 in the sums: cheaper than gathering the others
    (measured ~1.2 vs ~1.4 ms per 224 x 224 photo, same values to 1e-7).
    """
    red, green, blue = (model_input[..., channel].astype(np.int16) for channel in range(3))
    high = np.maximum(np.maximum(red, green), blue)
    spread = high - np.minimum(np.minimum(red, green), blue)
    saturation = np.divide(
        spread, high, out=np.zeros(high.shape, np.float32), where=high > 0, dtype=np.float32
    )
    hued = (spread > 0) & (_HUE_SATURATION_DENOMINATOR * spread >= _HUE_SATURATION_NUMERATOR * high)
    if not hued.any():
        return float(saturation.mean()), 0.0
    # The hexcone: 6 * spread * hue, from the sextant pair of the largest channel and the other two.
    red_max, green_max = high == red, high == green
    scaled = np.where(
        red_max, green - blue, np.where(green_max, blue - red + 2 * spread, red - green + 4 * spread)
    )
    angles = scaled * (np.float32(math.pi / 3.0) / np.maximum(spread, 1).astype(np.float32))
    weights = hued.astype(np.float32).ravel()
    sine, cosine = float(np.sin(angles).ravel() @ weights), float(np.cos(angles).ravel() @ weights)
    return float(saturation.mean()), _circular_mean(sine, cosine)


# HUE_MIN_SATURATION as a fraction, so that the threshold is compared in integers.
_HUE_SATURATION_NUMERATOR, _HUE_SATURATION_DENOMINATOR = (
    Fraction(HUE_MIN_SATURATION).limit_denominator(1000).as_integer_ratio()
)


def _circular_mean(sine: float, cosine: float) -> float:
    """The angle of (cosine, sine) as a fraction of the circle, in [0, 1): a circular mean hue (red
    at 0.99 and 0.01 averages to red, not to the arithmetic mean's cyan)."""
    value = (math.atan2(sine, cosine) / (2.0 * math.pi)) % 1.0
    return 0.0 if value >= 1.0 else value  # -1e-17 % 1.0 is 1.0 in floating point


def luma_entropy(luma: npt.NDArray[np.float32]) -> float:
    """Shannon entropy in bits of the 256-bin histogram of luma (rounded to integer levels)."""
    levels = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    counts = np.bincount(levels.ravel(), minlength=256)
    p = counts[counts > 0] / levels.size
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: -0.0 for a flat image reads as 0


def laplacian_sharpness(luma: npt.NDArray[np.float32]) -> float:
    """Mean |4-neighbour Laplacian| of luma over the interior pixels, / 255 (blur lowers it)."""
    if luma.shape[0] < 3 or luma.shape[1] < 3:
        return 0.0
    centre = luma[1:-1, 1:-1]
    # A sum of differences, not 4 * centre minus the neighbours: each difference is exactly 0 in a
    # flat region, whatever order or vector width the float32 arithmetic runs in.
    laplacian = (
        (centre - luma[:-2, 1:-1])
        + (centre - luma[2:, 1:-1])
        + (centre - luma[1:-1, :-2])
        + (centre - luma[1:-1, 2:])
    )
    return float(np.abs(laplacian).mean() / 255.0)
