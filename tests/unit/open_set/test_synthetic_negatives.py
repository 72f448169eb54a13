"""The generated out-of-domain pictures: decodable uploads, the same for a seed, another seed others."""

from __future__ import annotations

import numpy as np
import pytest

from greenr.images.preprocess import decode_model_input
from greenr.open_set.synthetic_negatives import FIRST_KINDS, KINDS, synthetic_negatives


def test_the_pictures_decode_like_uploads_and_are_the_same_for_a_seed() -> None:
    pictures = synthetic_negatives(8, seed=11)
    assert len(pictures) == 8
    assert pictures == synthetic_negatives(8, seed=11)
    inputs = np.stack([decode_model_input(data, 10_000_000, 32) for data in pictures])
    assert inputs.shape == (8, 32, 32, 3)
    # Every kind is there, and they differ: flat colours have no spread, noise much.
    spreads = inputs.reshape(8, -1, 3).std(axis=1).max(axis=1)
    assert spreads[KINDS.index("flat")] < 2 < spreads[KINDS.index("noise")]


def test_another_seed_gives_other_pictures() -> None:
    assert not set(synthetic_negatives(4, seed=1)) & set(synthetic_negatives(4, seed=2))


def test_none_asked_none_made() -> None:
    assert synthetic_negatives(0, seed=1) == []


def test_the_added_kinds_are_drawn_only_when_asked_and_unknown_kinds_are_refused() -> None:
    assert synthetic_negatives(4, seed=5) == synthetic_negatives(4, seed=5, kinds=FIRST_KINDS)
    added = tuple(kind for kind in KINDS if kind not in FIRST_KINDS)
    pictures = synthetic_negatives(len(added), seed=5, kinds=added)
    inputs = np.stack([decode_model_input(data, 10_000_000, 64) for data in pictures])
    # A pattern holds two colours only (JPEG aside); a blur of noise has no sharp pixel steps.
    pattern = inputs[added.index("pattern")].reshape(-1, 3)
    assert len({tuple(p // 32) for p in pattern}) <= 6
    blur = inputs[added.index("blur")].astype(float)
    noise = np.stack([decode_model_input(synthetic_negatives(1, seed=5)[0], 10_000_000, 64)])[0].astype(float)
    assert np.abs(np.diff(blur, axis=1)).mean() < np.abs(np.diff(noise, axis=1)).mean() / 3
    with pytest.raises(ValueError, match="unknown generated picture kinds"):
        synthetic_negatives(2, seed=1, kinds=("clouds",))
