"""The one image preprocessing used by training and by the model server.

It imports only numpy and Pillow so the model server's environment (no TensorFlow, no pydantic)
can use it unchanged: the same Pillow version and the same resize give the same pixels in both
places. So the size is always the caller's: the model's (training config, serving metadata), whose
default is `greenr.contracts.MODEL_INPUT_SIZE`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import ExifTags, Image

from greenr.images.decoding import decode_image
from greenr.images.jpeg_quality import estimated_jpeg_quality
from greenr.images.memory import LARGE_IMAGE_PIXELS, release_after

logger = logging.getLogger(__name__)

# EXIF orientation -> the transpose that shows the picture the way cameras and browsers do
# (the table of Pillow's ImageOps.exif_transpose, which would copy every upright image too).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(image: Image.Image) -> Image.Image:
    """The image turned the way its EXIF orientation says it is seen; itself when upright.

    Phones store photos as the sensor read them plus an orientation tag; a person (and the web
    app's browser) sees them turned, so the model must too. The dataset's photos carry no tag.
    """
    method = _upright_method(image)
    return image if method is None else image.transpose(method)


# The transposes that swap width and height.
_SIDEWAYS = frozenset(
    {
        Image.Transpose.TRANSPOSE,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSVERSE,
        Image.Transpose.ROTATE_90,
    }
)


def _upright_method(image: Image.Image) -> Image.Transpose | None:
    """The transpose the EXIF orientation asks for; None when upright or unreadable."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as error:  # any: untrusted metadata must never fail a prediction
        logger.warning("ignoring unreadable EXIF data (%s): the image is used as stored", error)
        return None
    return _UPRIGHT.get(orientation) if isinstance(orientation, int) else None


# Pillow's modes for 16-bit greyscale PNGs; convert("RGB") clips their 0..65535 values at 255,
# which turns almost the whole picture white.
_WIDE_GREY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I"})
# What a transparent picture is seen against (the web app's and most viewers' background).
_BACKGROUND = (255, 255, 255, 255)


def as_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB as a person sees the picture: 16-bit grey scaled down, transparency over white.

    A plain convert("RGB") would keep whatever colour transparent pixels happen to store (often
    black) and clip 16-bit grey to white.
    """
    if image.mode in _WIDE_GREY_MODES:
        # In the image's own integer type (2 bytes a pixel for 16-bit PNGs), not a wider copy.
        grey = np.clip(np.asarray(image) >> 8, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if image.has_transparency_data:  # an alpha band, or a palette / colour key marked transparent
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _BACKGROUND), rgba).convert("RGB")
    return image.convert("RGB")


def to_model_input(image: Image.Image, size: int) -> npt.NDArray[np.uint8]:
    """RGB uint8 array of shape (size, size, 3): the whole upright picture, resized without cropping.

    Squashing keeps every pixel of the wide grass strips (aspect ratios up to 7:1 in the data);
    a centre crop would throw most of them away.
    """
    rgb = as_rgb(upright(image))
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


# A JPEG is decoded at a reduced DCT scale only while both sides stay at least this many times the
# model input, so the resize still averages 4+ source pixels per output pixel. Measured at size
# 224 against a full decode (tests/unit/images/test_preprocess.py): model input max |diff| 2/255
# at 4032x3024 (textured JPEGs, and 20 dataset photos upscaled), 6/255 at 1800x1800 with 3-pixel
# detail (mean 0.35 and 0.65); a margin of 2 gave up to 18 on 1000x900 fine texture. A 12-megapixel photo
# decodes at 1/2 scale (a quarter of the pixels, ~4x faster), a 40-megapixel one at 1/4.
# The default of GREENR_JPEG_DRAFT_MARGIN (greenr/settings.py, serving/config.py; a test keeps them equal).
DRAFT_MARGIN = 4


def decode_model_input(
    data: bytes,
    max_pixels: int,
    size: int,
    *,
    draft_margin: int = DRAFT_MARGIN,
    trim_pixels: int = LARGE_IMAGE_PIXELS,
) -> npt.NDArray[np.uint8]:
    """Image bytes to the model's input: `decode_image` (JPEGs at a reduced scale), then `to_model_input`.

    Training and the model server both call this, so both see the same pixels (with the same
    `draft_margin`); `trim_pixels` is `release_after`'s threshold.

    Raises:
        ImageDecodeError: see `decode_image`.
    """
    return decode_sized_model_input(
        data, max_pixels, size, draft_margin=draft_margin, trim_pixels=trim_pixels
    ).pixels


@dataclass(frozen=True)
class SizedModelInput:
    """The model's input and the upload's own size as a person sees it (after EXIF orientation)."""

    pixels: npt.NDArray[np.uint8]
    width: int
    height: int
    jpeg_quality: float | None = None
    """The upload's estimated JPEG quality (`estimated_jpeg_quality`); None for other formats."""


def decode_sized_model_input(
    data: bytes,
    max_pixels: int,
    size: int,
    *,
    draft_margin: int = DRAFT_MARGIN,
    trim_pixels: int = LARGE_IMAGE_PIXELS,
) -> SizedModelInput:
    """`decode_model_input`, plus the upload's upright width and height (the feature columns' size)
    and its estimated JPEG quality (read from its header).

    Raises:
        ImageDecodeError: see `decode_image`.
    """
    decoded = decode_image(data, max_pixels, reduce_to=size * draft_margin)
    width, height = decoded.image.size
    try:
        sideways = _upright_method(decoded.image) in _SIDEWAYS
        quality = estimated_jpeg_quality(decoded.image)
        pixels = to_model_input(decoded.image, size)
    finally:
        decoded.image.close()
        release_after(width * height, trim_pixels)
    if sideways:
        return SizedModelInput(
            pixels=pixels, width=decoded.height, height=decoded.width, jpeg_quality=quality
        )
    return SizedModelInput(pixels=pixels, width=decoded.width, height=decoded.height, jpeg_quality=quality)
