"""Photo previews."""

from __future__ import annotations

import base64
import io

from PIL import Image

from ui.preview import preview_data_url


def _encoded(size: tuple[int, int], image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 40)).save(buffer, format=image_format)
    return buffer.getvalue()


def test_a_large_photo_becomes_a_small_jpeg() -> None:
    url = preview_data_url(_encoded((2000, 1000), "JPEG"), max_side=400)

    assert url is not None
    assert url.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as preview:
        assert max(preview.size) == 400
        assert preview.size[0] == 2 * preview.size[1]


def test_png_works_and_non_images_give_none() -> None:
    assert preview_data_url(_encoded((50, 50), "PNG")) is not None
    assert preview_data_url(b"not an image") is None
    assert preview_data_url(_encoded((50, 50), "PNG")[:40]) is None  # truncated
