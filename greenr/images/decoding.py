"""Open untrusted image bytes with Pillow, turning every failure into a typed reason."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# What Pillow calls a JPEG: plain, or with a multi-picture segment (MPO; first frame used).
JPEG_FORMATS = frozenset({"JPEG", "MPO"})


class ImageDecodeError(ValueError):
    """The bytes are not a usable image; `reason` is machine-readable, the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    """A fully decoded image and the facts read while decoding it."""

    image: Image.Image
    format: str
    mode: str
    width: int
    height: int


def decode_image(data: bytes, max_pixels: int, reduce_to: int | None = None) -> DecodedImage:
    """Decode image bytes completely, refusing empty, non-image, truncated and oversized input.

    A JPEG with a multi-picture (MPF) segment, which many phone cameras write, opens in Pillow
    as MPO: its first frame is the photo (the others are previews or depth maps), so it is
    decoded as the JPEG it is and reported as format "JPEG". With `reduce_to`, a JPEG is decoded
    at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, `Image.draft`) as long as both sides stay at
    least `reduce_to` pixels: every byte is still decoded (truncation is still caught), in a
    fraction of the memory and time. `width` and `height` are always the stored image's.

    Raises:
        ImageDecodeError: with reason "empty", "not_an_image", "decompression_bomb" or "corrupt".
    """
    if not data:
        raise ImageDecodeError("empty", "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; treat it as an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format or "UNKNOWN"
            width, height = image.size
            if width * height > max_pixels:
                raise ImageDecodeError(
                    "decompression_bomb",
                    f"{width}x{height} pixels exceeds the limit of {max_pixels} pixels",
                )
            if fmt in JPEG_FORMATS:
                fmt = "JPEG"
                if reduce_to is not None:
                    image.draft(None, (reduce_to, reduce_to))
            # Image.open only reads the header; load() decodes every pixel, which catches
            # truncated and corrupt data that would otherwise fail later during training.
            image.load()  # type: ignore[no-untyped-call]
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise ImageDecodeError("not_an_image", "the file is not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageDecodeError("decompression_bomb", str(error)) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageDecodeError("corrupt", f"the image data is corrupt or truncated ({error})") from None
    return DecodedImage(image=image, format=fmt, mode=image.mode, width=width, height=height)


def stored_pixels(data: bytes) -> int | None:
    """Width x height read from the header alone (nothing decoded); None when Pillow cannot tell."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Exception:  # any: decode_image reports what is wrong with the bytes
        return None
    return int(width) * int(height)


def format_samples() -> list[bytes]:
    """A tiny lawn-green picture in each supported format, for warming decoders up."""
    samples = []
    for fmt in sorted(SUPPORTED_FORMATS):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (70, 140, 60)).save(buffer, format=fmt)
        samples.append(buffer.getvalue())
    return samples


def warm_up_decoders(max_pixels: int) -> None:
    """Decode one picture of each supported format now rather than in the first request.

    Pillow imports a format's plugin the first time it opens such a file: measured, the API's
    first prediction spent 6 ms there (its next ones none).
    """
    for sample in format_samples():
        decode_image(sample, max_pixels).image.close()
