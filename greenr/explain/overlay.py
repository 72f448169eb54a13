"""A heatmap drawn over the photo: a colour scale from cold (dark blue) to hot (red), blended in."""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from greenr.explain.gradcam import Heatmap

# Anchors of a jet-like scale at heat 0, 0.25, 0.5, 0.75, 1: the usual look of Grad-CAM figures,
# so a reader needs no legend. Interpolated linearly between anchors.
_ANCHORS: Final = np.array(
    [[0, 0, 128], [0, 128, 255], [64, 255, 128], [255, 200, 0], [220, 0, 0]], dtype=np.float32
)
# How much of the colour shows over the photo: enough to read, little enough to see the photo.
DEFAULT_ALPHA: Final = 0.45


def colorized(heatmap: Heatmap) -> npt.NDArray[np.uint8]:
    """H x W heat (0..1) -> H x W x 3 RGB on the colour scale."""
    positions = np.clip(heatmap, 0.0, 1.0) * (len(_ANCHORS) - 1)
    low = np.minimum(positions.astype(np.int64), len(_ANCHORS) - 2)
    fraction = (positions - low)[..., np.newaxis]
    colours = _ANCHORS[low] * (1.0 - fraction) + _ANCHORS[low + 1] * fraction
    rgb: npt.NDArray[np.uint8] = np.rint(colours).astype(np.uint8)
    return rgb


def overlaid(photo: Image.Image, heatmap: Heatmap, alpha: float = DEFAULT_ALPHA) -> Image.Image:
    """The RGB photo with the heatmap (already at the photo's size) blended in at `alpha`.

    Raises:
        ValueError: the heatmap is not the photo's size, or alpha is not in 0..1.
    """
    if heatmap.shape != (photo.height, photo.width):
        raise ValueError(
            f"the heatmap is {heatmap.shape[1]}x{heatmap.shape[0]}, the photo {photo.width}x{photo.height}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha} is not in 0..1")
    colours = Image.fromarray(colorized(heatmap))
    return Image.blend(photo.convert("RGB"), colours, alpha)


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
