"""The test-split artifact round-trips the exact pixels, labels and hashes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from folder_store import folder_store

from greenr.training.data import SplitArrays
from materializers.split_arrays_materializer import SplitArraysMaterializer


def test_arrays_round_trip_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    split = SplitArrays(
        images=rng.integers(0, 256, size=(5, 16, 16, 3), dtype=np.uint8),
        labels=np.array([0, 1, 1, 0, 1], dtype=np.int64),
        sha256=[f"{i:064x}" for i in range(5)],
    )
    materializer = SplitArraysMaterializer(str(tmp_path), artifact_store=folder_store())
    materializer.save(split)
    loaded = materializer.load(SplitArrays)
    assert loaded.images.dtype == np.uint8
    np.testing.assert_array_equal(loaded.images, split.images)
    np.testing.assert_array_equal(loaded.labels, split.labels)
    assert loaded.sha256 == split.sha256
    assert materializer.extract_metadata(split) == {
        "photos": 5,
        "input_size": 16,
        "per_class": {"dandelion": 2, "grass": 3},
    }


def test_an_empty_split_round_trips(tmp_path: Path) -> None:
    empty = SplitArrays(images=np.zeros((0, 8, 8, 3), np.uint8), labels=np.zeros(0, np.int64), sha256=[])
    materializer = SplitArraysMaterializer(str(tmp_path), artifact_store=folder_store())
    materializer.save(empty)
    loaded = materializer.load(SplitArrays)
    assert len(loaded) == 0
    assert loaded.images.shape == (0, 8, 8, 3)
