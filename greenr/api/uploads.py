"""Checking uploaded files before they reach the model: type, size (while reading), decodability.

A file is read in chunks and abandoned as soon as it is one byte over the limit, so at most
`max_bytes + 1` bytes of it are ever held in memory. (Starlette has already spooled the part: up
to 1 MB in memory, the rest to a temporary file, and `body_limit.BodySizeLimit` caps the whole
request before that.) Every accepted file is fully decoded with `decode_image`, the decoder
training and the model server use, so a truncated or bogus image gets a clear error here rather
than an opaque one from the model server.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

from greenr.api.decode_slots import DecodeSlots
from greenr.api.errors import Problem
from greenr.images.decoding import SUPPORTED_FORMATS, ImageDecodeError, decode_image, stored_pixels
from greenr.images.memory import LARGE_IMAGE_PIXELS, release_after
from greenr.images.names import clean_upload_name

READ_CHUNK_BYTES = 64 * 1024
ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Common aliases of the accepted types.
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
# Clients that do not know the type (curl for an unknown extension, some browsers) send these:
# the decoded bytes decide.
UNDECLARED_TYPES = frozenset({"", "application/octet-stream"})
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
SEND_INSTEAD = "send a JPEG, PNG or WebP photo"

# decode_image's reasons -> (status, error code).
_DECODE_PROBLEMS = {
    "empty": (422, "empty_file"),
    "not_an_image": (422, "not_an_image"),
    "corrupt": (422, "corrupt_image"),
    "decompression_bomb": (422, "decompression_bomb"),
}


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class IncomingFile:
    """One uploaded file, not yet read."""

    filename: str
    content_type: str | None
    stream: Readable


@dataclass(frozen=True)
class AcceptedImage:
    """An uploaded file that decodes as a supported image."""

    filename: str
    data: bytes
    sha256: str
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class RejectedFile:
    """An uploaded file refused, and why."""

    filename: str
    problem: Problem


def clean_filename(name: str | None, index: int) -> str:
    """The file's base name without control or bidi characters (`greenr.images.names`), or `file-<n>`."""
    return clean_upload_name(name, index)


def read_at_most(stream: Readable, limit: int) -> bytes | None:
    """The stream's bytes, or None as soon as it holds more than `limit` (reads at most limit + 1)."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(READ_CHUNK_BYTES, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    return None


def check_file(
    upload: IncomingFile,
    max_bytes: int,
    max_pixels: int,
    pixels_left: int | None = None,
    slots: DecodeSlots | None = None,
    large_image_pixels: int = LARGE_IMAGE_PIXELS,
) -> AcceptedImage | RejectedFile:
    """Accept a file that is a JPEG, PNG or WebP image within the limits, or say why not.

    `pixels_left` is what the request's pixel budget still allows (None: no budget); `slots`
    bounds concurrent decodes in the process (ApiError 503 `busy` when none frees up); after an
    image of `large_image_pixels` or more, freed memory is returned to the system.
    """
    name = upload.filename
    declared = (upload.content_type or "").split(";", 1)[0].strip().lower()
    declared = _TYPE_ALIASES.get(declared, declared)
    if declared not in ACCEPTED_TYPES and declared not in UNDECLARED_TYPES:
        return RejectedFile(
            name,
            Problem(415, "unsupported_media_type", f"{name}: {declared} is not accepted: {SEND_INSTEAD}"),
        )
    data = read_at_most(upload.stream, max_bytes)
    if data is None:
        return RejectedFile(
            name,
            Problem(
                413,
                "file_too_large",
                f"{name}: the file is larger than the limit of {max_bytes} bytes ({max_bytes / 1e6:g} MB): "
                "send a smaller image",
            ),
        )
    pixels = stored_pixels(data)
    if pixels_left is not None and pixels is not None and pixels <= max_pixels and pixels > pixels_left:
        return RejectedFile(
            name,
            Problem(
                413,
                "too_many_pixels",
                f"{name}: with this image the request holds more pixels than the server decodes per "
                "request: send it in another request",
            ),
        )
    try:
        with slots.slot() if slots is not None else nullcontext():
            # The API only proves the file decodes (the model server resizes it): JPEGs are
            # decoded at 1/8 scale, every byte still read, so truncation is still caught.
            decoded = decode_image(data, max_pixels, reduce_to=1)
    except ImageDecodeError as error:
        status, code = _DECODE_PROBLEMS.get(error.reason, (422, "invalid_image"))
        detail = str(error).rstrip(".")
        if error.reason == "decompression_bomb":
            message = (
                f"{name}: too many pixels to decode safely ({detail}): "
                f"send a photo of at most {max_pixels} pixels"
            )
        else:
            message = f"{name}: {detail}: {SEND_INSTEAD}"
        return RejectedFile(name, Problem(status, code, message))
    if decoded.format not in SUPPORTED_FORMATS or decoded.format not in EXTENSIONS:
        return RejectedFile(
            name,
            Problem(
                415,
                "unsupported_media_type",
                f"{name}: {decoded.format} images are not accepted: {SEND_INSTEAD}",
            ),
        )
    width, height, fmt = decoded.width, decoded.height, decoded.format
    decoded_pixels = decoded.image.width * decoded.image.height
    decoded.image.close()  # the pixels were only needed to prove the file decodes
    release_after(decoded_pixels, large_image_pixels)
    return AcceptedImage(
        filename=name,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
    )
