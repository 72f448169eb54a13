"""Upload checks: type, size limit while reading, decodability (greenr/api/uploads.py)."""

from __future__ import annotations

import hashlib
import io

import pytest
from photo_factory import decompression_bomb_png, jpeg_bytes, photo, png_bytes

from greenr.api.uploads import (
    READ_CHUNK_BYTES,
    AcceptedImage,
    IncomingFile,
    RejectedFile,
    check_file,
    clean_filename,
    read_at_most,
)

MAX_PIXELS = 40_000_000


class CountingStream:
    """A readable stream that records how many bytes were asked for and handed out."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)
        self.handed_out = 0
        self.largest_request = 0

    def read(self, size: int = -1, /) -> bytes:
        assert size >= 0, "an unbounded read would load the whole file"
        self.largest_request = max(self.largest_request, size)
        chunk = self._buffer.read(size)
        self.handed_out += len(chunk)
        return chunk


@pytest.mark.parametrize("size", [0, 1, 999, 1000])
def test_read_at_most_returns_files_within_the_limit(size: int) -> None:
    data = bytes(range(256)) * 4
    assert read_at_most(io.BytesIO(data[:size]), 1000) == data[:size]


@pytest.mark.parametrize("size", [1001, 5000, 50_000_000])
def test_read_at_most_stops_one_byte_past_the_limit(size: int) -> None:
    stream = CountingStream(b"\0" * size)
    assert read_at_most(stream, 1000) is None
    assert stream.handed_out == 1001


def test_read_at_most_reads_in_bounded_chunks() -> None:
    stream = CountingStream(b"\0" * (3 * READ_CHUNK_BYTES))
    assert read_at_most(stream, 10 * READ_CHUNK_BYTES) is not None
    assert stream.largest_request == READ_CHUNK_BYTES


def check(
    name: str, data: bytes, content_type: str | None, max_bytes: int = 10_000_000
) -> AcceptedImage | RejectedFile:
    return check_file(IncomingFile(name, content_type, io.BytesIO(data)), max_bytes, MAX_PIXELS)


@pytest.mark.parametrize(
    "content_type",
    ["image/jpeg", "image/jpg", "IMAGE/JPEG; charset=binary", "application/octet-stream", None],
)
def test_a_jpeg_is_accepted_with_any_plausible_type(content_type: str | None) -> None:
    data = jpeg_bytes(photo(1, (120, 90)))
    accepted = check("a.jpg", data, content_type)
    assert isinstance(accepted, AcceptedImage)
    assert (accepted.format, accepted.extension, accepted.width, accepted.height) == ("JPEG", "jpg", 120, 90)
    assert accepted.sha256 == hashlib.sha256(data).hexdigest()
    assert accepted.size == len(data)


def test_png_is_accepted() -> None:
    accepted = check("a.png", png_bytes(photo(1)), "image/png")
    assert isinstance(accepted, AcceptedImage)
    assert accepted.extension == "png"


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "code", "fragment"),
    [
        ("a.txt", b"hello", "text/plain", 415, "unsupported_media_type", "a.txt: text/plain is not accepted"),
        (
            "a.pdf",
            b"%PDF",
            "application/pdf",
            415,
            "unsupported_media_type",
            "application/pdf is not accepted",
        ),
        ("a.jpg", b"hello", "image/jpeg", 422, "not_an_image", "not a recognised image format"),
        ("a.jpg", b"", "image/jpeg", 422, "empty_file", "a.jpg: the file is empty (0 bytes)"),
        ("a.png", decompression_bomb_png(), "image/png", 422, "decompression_bomb", "too many pixels"),
    ],
)
def test_refusals(name: str, data: bytes, content_type: str, status: int, code: str, fragment: str) -> None:
    rejected = check(name, data, content_type)
    assert isinstance(rejected, RejectedFile)
    assert (rejected.problem.status, rejected.problem.code) == (status, code)
    assert fragment in rejected.problem.message
    assert rejected.problem.message.startswith(f"{name}: ")


def test_truncated_jpeg_is_corrupt() -> None:
    data = jpeg_bytes(photo(2))
    rejected = check("cut.jpg", data[: len(data) // 2], "image/jpeg")
    assert isinstance(rejected, RejectedFile)
    assert rejected.problem.code == "corrupt_image"


def test_file_over_the_limit_is_refused_before_decoding() -> None:
    data = jpeg_bytes(photo(3))
    assert isinstance(check("a.jpg", data, "image/jpeg", max_bytes=len(data)), AcceptedImage)
    rejected = check("a.jpg", data, "image/jpeg", max_bytes=len(data) - 1)
    assert isinstance(rejected, RejectedFile)
    assert (rejected.problem.status, rejected.problem.code) == (413, "file_too_large")
    assert f"the limit of {len(data) - 1} bytes" in rejected.problem.message


def test_a_decoded_format_other_than_jpeg_png_webp_is_refused() -> None:
    buffer = io.BytesIO()
    photo(4).save(buffer, format="BMP")
    rejected = check("a.bin", buffer.getvalue(), "application/octet-stream")
    assert isinstance(rejected, RejectedFile)
    assert (rejected.problem.status, rejected.problem.code) == (415, "unsupported_media_type")
    assert "BMP images are not accepted" in rejected.problem.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("C:\\Users\\me\\Pictures\\photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("", "file-3"),
        (None, "file-3"),
        ("x" * 300, "x" * 255),
    ],
)
def test_clean_filename(raw: str | None, expected: str) -> None:
    assert clean_filename(raw, 2) == expected
