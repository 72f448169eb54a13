"""The one image preprocessing used by training and by the model server.

It imports only numpy and Pillow so the model server's environment (no TensorFlow) can use it
unchanged: the same Pillow version and the same resize give the same pixels in both places.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

MODEL_INPUT_SIZE = 224


def to_model_input(image: Image.Image, size: int = MODEL_INPUT_SIZE) -> npt.NDArray[np.uint8]:
    """RGB uint8 array of shape (size, size, 3): the whole picture, resized without cropping.

    Squashing keeps every pixel of the wide grass strips (aspect ratios up to 7:1 in the data);
    a centre crop would throw most of them away.
    """
    rgb = image.convert("RGB")
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)
