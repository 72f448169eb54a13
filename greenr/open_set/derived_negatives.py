"""Out-of-domain pictures made from the train photos themselves, for outlier exposure.

A train photo turned grey, cut into tiles and shuffled, or colour-inverted keeps the low-level
statistics of dandelions and grass (textures, edges, brightness) but loses what makes one: the
colours or the layout. Taught as "neither", they push the score to rely on what the classes look
like rather than on "a natural photo": pictures of other things that happen to share a lawn's
texture or a dandelion's brightness score higher. The cost: a greyscale or colour-inverted photo
of a dandelion is refused too (the model was never meant for those).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

DERIVED_KINDS: Final = ("grey", "shuffle", "invert")
TILES: Final = 4
"""Tiles per side of a shuffled picture."""


def _grey(image: npt.NDArray[np.uint8], _: np.random.Generator) -> npt.NDArray[np.uint8]:
    grey = np.rint(image.astype(np.float64).mean(axis=2, keepdims=True))
    return np.repeat(grey, 3, axis=2).astype(np.uint8)


def _shuffle(image: npt.NDArray[np.uint8], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    # The photo's TILES x TILES tiles in a random order (a margin that does not divide stays put).
    side = image.shape[0] // TILES * TILES
    tile = side // TILES
    grid = image[:side, :side].reshape(TILES, tile, TILES, tile, 3).transpose(0, 2, 1, 3, 4)
    tiles = grid.reshape(TILES * TILES, tile, tile, 3)[rng.permutation(TILES * TILES)]
    result = image.copy()
    result[:side, :side] = (
        tiles.reshape(TILES, TILES, tile, tile, 3).transpose(0, 2, 1, 3, 4).reshape(side, side, 3)
    )
    return result


def _invert(image: npt.NDArray[np.uint8], _: np.random.Generator) -> npt.NDArray[np.uint8]:
    return (255 - image).astype(np.uint8)


_MAKERS: Final = {"grey": _grey, "shuffle": _shuffle, "invert": _invert}


def derived_negatives(
    images: npt.NDArray[np.uint8], count: int, seed: int, kinds: Sequence[str] = DERIVED_KINDS
) -> npt.NDArray[np.uint8]:
    """`count` pictures (count x S x S x 3) made from distinct photos of `images` (N x S x S x 3,
    as the model takes them), the `kinds` in turn.

    Raises:
        ValueError: an unknown kind, or more pictures asked than there are photos.
    """
    unknown = [kind for kind in kinds if kind not in _MAKERS]
    if unknown or not kinds:
        raise ValueError(
            f"unknown derived picture kinds {unknown or kinds}: use some of {', '.join(DERIVED_KINDS)}"
        )
    if count > len(images):
        raise ValueError(f"{count} derived pictures need as many train photos; there are {len(images)}")
    rng = np.random.default_rng(seed)
    sources = rng.choice(len(images), count, replace=False)
    result = np.empty((count, *images.shape[1:]), dtype=np.uint8)
    for index, source in enumerate(sources):
        result[index] = _MAKERS[kinds[index % len(kinds)]](images[source], rng)
    return result
