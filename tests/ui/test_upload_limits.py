"""Client-side upload limits and their messages."""

from __future__ import annotations

import pytest

from ui.upload_limits import human_size, refusals, rejection_message


@pytest.mark.parametrize(
    ("size", "text"), [(10_000_000, "10 MB"), (1_500_000, "1.5 MB"), (512_000, "512 KB"), (900, "900 bytes")]
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_refusals_name_each_oversized_file() -> None:
    assert refusals([("a.jpg", 100), ("b.jpg", 101)], max_bytes=100, max_files=5) == [
        "b.jpg was not sent: it is 101 bytes, the limit is 100 bytes per photo."
    ]
    assert refusals([("a.jpg", 1)] * 3, max_bytes=100, max_files=2) == [
        "3 photos were selected; send at most 2 at once."
    ]
    assert refusals([("a.jpg", 100)], max_bytes=100, max_files=1) == []


def test_rejection_message_for_what_the_browser_refused() -> None:
    big = {"name": "big.jpg", "size": 20_000_000, "reason": "max-file-size"}

    assert rejection_message([big], max_bytes=10_000_000, max_files=32) == (
        "Not sent (larger than 10 MB per photo): big.jpg."
    )
    assert rejection_message([{"reason": "max-files"}], max_bytes=1, max_files=32) == (
        "Too many photos: send at most 32 at once."
    )
    assert rejection_message([{"name": "notes.txt", "reason": "accept"}], max_bytes=1, max_files=1) == (
        "Not sent (not an image file): notes.txt."
    )
