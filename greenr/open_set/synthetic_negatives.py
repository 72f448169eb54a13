"""Generated out-of-domain pictures for outlier exposure: noise, flat colours, gradients, text.

Training adds them to the development photos of "neither" so the scorer also learns that pictures
of nothing (a blank shot, a screenshot of text) are not dandelions or grass. Deterministic: the same
seed gives the same JPEG bytes. The open-set benchmark's held-out synthetic pictures
(benchmarks/open_set_pictures.py) use another seed and other content (named colours, other texts),
so they measure what these did not teach.
"""

from __future__ import annotations

import io
import string
from typing import Final

import numpy as np
from PIL import Image, ImageDraw

SIDE: Final = 256
KINDS: Final = ("noise", "flat", "gradient", "text")


def _jpeg(pixels: np.ndarray) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _noise(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    # Coarse or fine: uniform noise at a random block size, upsampled.
    block = int(rng.choice([1, 4, 16]))
    small = rng.integers(0, 256, (SIDE // block, SIDE // block, 3))
    return np.kron(small, np.ones((block, block, 1)))


def _flat(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    return np.broadcast_to(rng.integers(0, 256, 3), (SIDE, SIDE, 3))


def _gradient(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    start, end = rng.integers(0, 256, (2, 3))
    ramp = np.linspace(0.0, 1.0, SIDE)[:, None, None]
    column = start + ramp * (end - start)
    return (
        np.broadcast_to(column, (SIDE, SIDE, 3))
        if rng.random() < 0.5
        else np.broadcast_to(column.transpose(1, 0, 2), (SIDE, SIDE, 3))
    )


def _text(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    paper, ink = rng.integers(0, 256, (2, 3))
    image = Image.new("RGB", (SIDE, SIDE), tuple(int(v) for v in paper))
    draw = ImageDraw.Draw(image)
    size = int(rng.integers(14, 40))
    for line in range(SIDE // size):
        words = "".join(rng.choice(list(string.ascii_letters + " "), 24))
        draw.text((4, 4 + size * line), words, fill=tuple(int(v) for v in ink), font_size=size)
    return np.asarray(image)


def synthetic_negatives(count: int, seed: int) -> list[bytes]:
    """`count` JPEG pictures, the kinds in turn (noise, flat colour, gradient, text)."""
    rng = np.random.default_rng(seed)
    makers = (_noise, _flat, _gradient, _text)
    return [_jpeg(np.asarray(makers[index % len(makers)](rng))) for index in range(count)]
