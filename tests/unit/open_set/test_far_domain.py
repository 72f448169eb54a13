"""The far-domain pictures: shipped with scikit-image, decodable uploads, halves that never mix."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from greenr.open_set.far_domain import PICTURES, far_domain_uploads, halves, jpeg_upload


def test_every_listed_picture_loads_without_a_download_as_an_rgb_jpeg() -> None:
    uploads = far_domain_uploads()
    assert [name for name, _ in uploads] == list(PICTURES)
    for name, data in uploads:
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.mode) == ("JPEG", "RGB"), name
            assert min(image.size) >= 64, name


def test_the_halves_split_every_picture_once_and_do_not_change_between_calls() -> None:
    development, held_out = halves()
    assert not set(development) & set(held_out)
    assert sorted(development + held_out) == sorted(PICTURES)
    assert len(development) == len(PICTURES) // 2
    assert halves() == (development, held_out)
    assert halves(seed=18) != (development, held_out)


def test_grey_and_float_pictures_become_rgb_uploads_and_unknown_names_are_refused() -> None:
    grey = np.linspace(0.0, 1.0, 64 * 64).reshape(64, 64)
    with Image.open(io.BytesIO(jpeg_upload(grey))) as image:
        assert image.mode == "RGB"
        assert image.getpixel((63, 63))[0] > 240  # 1.0 is white, not 1/255
    with pytest.raises(ValueError, match="unknown far-domain pictures \\['grass'\\]"):
        far_domain_uploads(["astronaut", "grass"])
