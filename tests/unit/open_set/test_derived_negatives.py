"""Pictures made from train photos: grey, tile-shuffled, inverted; from distinct photos, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from greenr.open_set.derived_negatives import DERIVED_KINDS, TILES, derived_negatives


def _photos(count: int = 6, side: int = 16) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (count, side, side, 3)).astype(np.uint8)


def test_each_kind_changes_colour_or_layout_as_it_says() -> None:
    photos = _photos()
    made = derived_negatives(photos, 3, seed=1)
    assert made.shape == (3, 16, 16, 3)
    assert made.dtype == np.uint8
    sources = [
        next(i for i in range(len(photos)) if _matches(photos[i], made[k], kind))
        for k, kind in enumerate(DERIVED_KINDS)
    ]
    assert len(set(sources)) == 3  # distinct photos
    grey, shuffled, inverted = made
    assert (grey[..., 0] == grey[..., 1]).all()
    assert (grey[..., 1] == grey[..., 2]).all()
    original = photos[sources[1]]
    assert not np.array_equal(shuffled, original)
    assert sorted(map(bytes, _tiles(shuffled))) == sorted(map(bytes, _tiles(original)))
    assert np.array_equal(inverted, 255 - photos[sources[2]])


def _tiles(image: np.ndarray) -> list[np.ndarray]:  # type: ignore[type-arg]
    tile = image.shape[0] // TILES
    return [image[r : r + tile, c : c + tile].copy() for r in range(0, 16, tile) for c in range(0, 16, tile)]


def _matches(photo: np.ndarray, made: np.ndarray, kind: str) -> bool:  # type: ignore[type-arg]
    if kind == "grey":
        return bool(np.abs(photo.astype(float).mean(axis=2) - made[..., 0]).max() <= 0.5)
    if kind == "invert":
        return bool(np.array_equal(255 - photo, made))
    return sorted(map(bytes, _tiles(photo))) == sorted(map(bytes, _tiles(made)))


def test_the_same_seed_gives_the_same_pictures_and_bad_requests_are_clear() -> None:
    photos = _photos()
    assert np.array_equal(derived_negatives(photos, 4, seed=2), derived_negatives(photos, 4, seed=2))
    assert not np.array_equal(derived_negatives(photos, 4, seed=2), derived_negatives(photos, 4, seed=3))
    with pytest.raises(ValueError, match="7 derived pictures need as many train photos; there are 6"):
        derived_negatives(photos, 7, seed=1)
    with pytest.raises(ValueError, match="unknown derived picture kinds"):
        derived_negatives(photos, 2, seed=1, kinds=("sepia",))
