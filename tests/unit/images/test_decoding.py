"""decode_image turns every kind of bad input into a typed reason."""

from __future__ import annotations

import pytest
from photo_factory import decompression_bomb_png, jpeg_bytes, photo, png_bytes

from greenr.images.decoding import (
    SUPPORTED_FORMATS,
    ImageDecodeError,
    decode_image,
    format_samples,
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
