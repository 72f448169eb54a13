"""The generated out-of-domain pictures: decodable uploads, the same for a seed, another seed others."""

from __future__ import annotations

import numpy as np

from greenr.images.preprocess import decode_model_input
from greenr.open_set.synthetic_negatives import KINDS, synthetic_negatives


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
