"""The one image preprocessing used by training and by the model server.

It imports only numpy and Pillow so the model server's environment (no TensorFlow) can use it
unchanged: the same Pillow version and the same resize give the same pixels in both places.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from PIL import ExifTags, Image

MODEL_INPUT_SIZE = 224

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
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as error:  # any: untrusted metadata must never fail a prediction
        logger.warning("ignoring unreadable EXIF data (%s): the image is used as stored", error)
        return image
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


def to_model_input(image: Image.Image, size: int = MODEL_INPUT_SIZE) -> npt.NDArray[np.uint8]:
    """RGB uint8 array of shape (size, size, 3): the whole upright picture, resized without cropping.

    Squashing keeps every pixel of the wide grass strips (aspect ratios up to 7:1 in the data);
    a centre crop would throw most of them away.
    """
    rgb = upright(image).convert("RGB")
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)
