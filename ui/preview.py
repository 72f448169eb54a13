"""A small preview of an uploaded photo, sent to the browser as a data URL."""

from __future__ import annotations

import base64
import io

from PIL import Image, UnidentifiedImageError

PREVIEW_SIDE = 480


def preview_data_url(data: bytes, max_side: int = PREVIEW_SIDE) -> str | None:
    """A JPEG thumbnail of the photo as a `data:` URL, or None when the bytes are not an image.

    The page shows this rather than the upload itself: a 10 MB photo would otherwise travel back
    to the browser over the websocket, base64-inflated.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            # JPEG draft mode decodes at a reduced scale directly: far cheaper than a full decode.
            image.draft("RGB", (max_side, max_side))
            thumbnail = image.convert("RGB")
            thumbnail.thumbnail((max_side, max_side))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
