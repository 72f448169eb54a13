"""dHash: close for re-encoded copies, far for different pictures."""

from __future__ import annotations

import io

import numpy as np
from photo_factory import jpeg_bytes, photo
from PIL import Image

from greenr.images.perceptual_hash import dhash, distances_to, hamming, hashes_to_array


def test_reencoded_and_resized_copy_is_close() -> None:
    original = photo(7, (320, 240))
    copy = Image.open(io.BytesIO(jpeg_bytes(original.resize((300, 225)), quality=60)))
    assert hamming(dhash(original), dhash(copy)) <= 4


def test_different_pictures_are_far() -> None:
    assert hamming(dhash(photo(1)), dhash(photo(2))) > 10


def test_vectorised_distances_match_scalar() -> None:
    hashes = [dhash(photo(seed)) for seed in range(6)]
    packed = hashes_to_array(hashes)
    expected = np.array([hamming(hashes[0], h) for h in hashes])
    assert (distances_to(hashes[0], packed) == expected).all()
    assert distances_to(hashes[0], hashes_to_array([])).size == 0
