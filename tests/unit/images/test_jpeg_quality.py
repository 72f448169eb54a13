"""The JPEG quality read from an upload's header, on files saved at known qualities."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from greenr.images.jpeg_quality import estimated_jpeg_quality
from greenr.images.preprocess import decode_sized_model_input

PICTURE = Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))


def saved(fmt: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    PICTURE.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 95])
def test_the_quality_a_file_was_saved_at_is_read_back(quality: int) -> None:
    estimate = estimated_jpeg_quality(Image.open(io.BytesIO(saved("JPEG", quality=quality))))

    assert estimate is not None
    # libjpeg clips table entries at 255 below quality ~12, which nudges the estimate up a little.
    assert estimate == pytest.approx(quality, abs=1.5)


def test_other_formats_and_foreign_tables_have_no_quality() -> None:
    assert estimated_jpeg_quality(Image.open(io.BytesIO(saved("PNG")))) is None
    jpeg = Image.open(io.BytesIO(saved("JPEG", quality=80)))
    jpeg.quantization = {1: jpeg.quantization[1]}  # type: ignore[attr-defined]  # a chroma table only
    assert estimated_jpeg_quality(jpeg) is None


def test_the_model_input_carries_the_uploads_quality() -> None:
    low = decode_sized_model_input(saved("JPEG", quality=20), 10_000_000, 32)
    png = decode_sized_model_input(saved("PNG"), 10_000_000, 32)

    assert low.jpeg_quality == pytest.approx(20, abs=1.5)
    assert png.jpeg_quality is None
