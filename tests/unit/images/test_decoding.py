"""decode_image turns every kind of bad input into a typed reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from photo_factory import decompression_bomb_png, jpeg_bytes, mpo_bytes, photo, png_bytes
from PIL import Image

from greenr.images.decoding import (
    SUPPORTED_FORMATS,
    ImageDecodeError,
    decode_image,
    format_samples,
    stored_pixels,
    warm_up_decoders,
)

LIMIT = 40_000_000


def test_decodes_a_jpeg_and_reports_its_facts() -> None:
    decoded = decode_image(jpeg_bytes(photo(1, (300, 200))), LIMIT)
    assert (decoded.format, decoded.mode, decoded.width, decoded.height) == ("JPEG", "RGB", 300, 200)


def test_decodes_png() -> None:
    assert decode_image(png_bytes(photo(2)), LIMIT).format == "PNG"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"this is a text file named photo.jpg\n" * 20, "not_an_image"),
        (jpeg_bytes(photo(3))[:600], "corrupt"),
        (decompression_bomb_png(), "decompression_bomb"),
    ],
    ids=["empty", "text-as-jpg", "truncated-jpeg", "decompression-bomb"],
)
def test_bad_input_gets_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(data, LIMIT)
    assert caught.value.reason == reason
    assert str(caught.value)


def test_pixel_limit_is_the_callers() -> None:
    with pytest.raises(ImageDecodeError, match="exceeds the limit of 1000 pixels"):
        decode_image(jpeg_bytes(photo(4, (100, 100))), 1000)


def test_format_samples_cover_every_supported_format() -> None:
    samples = format_samples()
    decoded = [decode_image(sample, max_pixels=10_000) for sample in samples]
    assert sorted(image.format for image in decoded) == sorted(SUPPORTED_FORMATS)
    assert all(image.mode == "RGB" for image in decoded)
    warm_up_decoders(max_pixels=10_000)  # decodes the same samples: must not raise


def test_a_multi_picture_jpeg_is_its_first_frame() -> None:
    first, second = photo(5, (320, 240)), photo(6, (160, 120))
    data = mpo_bytes(first, second)
    assert Image.open(io.BytesIO(data)).format == "MPO"  # what Pillow calls it: the case at hand
    decoded = decode_image(data, LIMIT)
    assert (decoded.format, decoded.width, decoded.height) == ("JPEG", 320, 240)
    # The same encoder and quality write the first frame's scan as a plain JPEG would.
    plain = decode_image(jpeg_bytes(first), LIMIT).image
    assert np.array_equal(np.asarray(decoded.image), np.asarray(plain))


def test_a_truncated_multi_picture_jpeg_is_corrupt() -> None:
    data = mpo_bytes(photo(5, (320, 240)), photo(6))
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(data[: len(data) // 3], LIMIT)
    assert caught.value.reason == "corrupt"


def test_reduce_to_scales_a_jpeg_down_but_never_below_the_size_asked() -> None:
    data = jpeg_bytes(photo(7, (2000, 1000)))
    decoded = decode_image(data, LIMIT, reduce_to=224)
    assert (decoded.width, decoded.height) == (2000, 1000)  # the stored size is reported
    assert decoded.image.size == (500, 250)  # 1/4: 1/8 would give 250x125, under 224
    assert decode_image(data, LIMIT, reduce_to=1).image.size == (250, 125)
    png = decode_image(png_bytes(photo(7, (2000, 1000))), LIMIT, reduce_to=224)
    assert png.image.size == (2000, 1000)  # only JPEG has DCT scaling


def test_reduced_decoding_still_catches_truncation() -> None:
    data = jpeg_bytes(photo(8, (2000, 1000)))
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(data[: len(data) // 2], LIMIT, reduce_to=1)
    assert caught.value.reason == "corrupt"


def test_stored_pixels_reads_the_header_only() -> None:
    assert stored_pixels(jpeg_bytes(photo(9, (300, 200)))) == 60_000
    assert stored_pixels(decompression_bomb_png()) == 100_000_000
    assert stored_pixels(b"not an image") is None
