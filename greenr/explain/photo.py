"""A kept photo as the explanation needs it: the model's input (exactly as served) and the picture."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from greenr.images.decoding import decode_image
from greenr.images.preprocess import DRAFT_MARGIN, as_rgb, decode_model_input, upright


@dataclass(frozen=True)
class ExplainedPhoto:
    """The model's input (S x S x 3 uint8) and the upright RGB picture a person sees."""

    pixels: npt.NDArray[np.uint8]
    picture: Image.Image


def read_photo(data: bytes, max_pixels: int, size: int, draft_margin: int = DRAFT_MARGIN) -> ExplainedPhoto:
    """Decode photo bytes: the model input through `decode_model_input`, the model server's own
    path (same reduced JPEG decode with the server's `draft_margin`, same resize), and the upright
    picture at its full size.

    Raises:
        ImageDecodeError: see `greenr.images.decoding.decode_image`.
    """
    pixels = decode_model_input(data, max_pixels, size, draft_margin=draft_margin)
    decoded = decode_image(data, max_pixels)
    try:
        picture = as_rgb(upright(decoded.image))  # always a new image (a conversion)
    finally:
        decoded.image.close()
    return ExplainedPhoto(pixels=pixels, picture=picture)
