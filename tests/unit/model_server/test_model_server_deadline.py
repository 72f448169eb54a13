"""The caller's deadline: read from Seldon's meta, checked between images (issue 12, part 7)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from photo_factory import jpeg_bytes, photo

from greenr.api.model_client import DEADLINE_TAG as API_DEADLINE_TAG
from serving.deadline import DEADLINE_TAG, CallerGone, Deadline, deadline_from
from serving.inference import decode_batch


def test_the_api_and_the_server_name_the_tag_alike() -> None:
    assert API_DEADLINE_TAG == DEADLINE_TAG


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"tags": {DEADLINE_TAG: 2500}}, 102.5),
        ({"tags": {DEADLINE_TAG: 0.5}}, 100.0005),
        (None, None),
        ({}, None),
        ({"tags": "x"}, None),
        ({"tags": {DEADLINE_TAG: "soon"}}, None),
        ({"tags": {DEADLINE_TAG: -1}}, None),
        ({"tags": {DEADLINE_TAG: True}}, None),
    ],
)
def test_deadline_from_meta(meta: object, expected: float | None) -> None:
    assert deadline_from(meta, 100.0).at == expected


def test_a_passed_deadline_stops_decoding_before_the_next_image() -> None:
    images = [jpeg_bytes(photo(seed)) for seed in range(3)]
    assert decode_batch(images, 10_000_000, 32, Deadline(time.monotonic() + 60)).shape == (3, 32, 32, 3)
    with pytest.raises(CallerGone, match="before decoding image 0"):
        decode_batch(images, 10_000_000, 32, Deadline(time.monotonic() - 1))


def test_no_deadline_never_stops(tmp_path: Path) -> None:
    Deadline().check("anything")
    assert np.isfinite(decode_batch([jpeg_bytes(photo(1))], 10_000_000, 32)).all()
