"""Generated out-of-domain pictures for outlier exposure: noise, flat colours, gradients, text,
and (when configured) shapes, repeating patterns, cloudy textures and blurred noise.

Training adds them to the development photos of "neither" so the scorer also learns that pictures
of nothing (a blank shot, a screenshot of text) are not dandelions or grass. Deterministic: the same
seed gives the same JPEG bytes. The open-set benchmark's held-out synthetic pictures
(benchmarks/open_set_pictures.py) use another seed and other content (named colours, other texts),
so they measure what these did not teach.
"""

from __future__ import annotations

import io
import string
from collections.abc import Sequence
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIDE: Final = 256
KINDS: Final = ("noise", "flat", "gradient", "text", "shapes", "pattern", "texture", "blur")
"""Every kind this module draws."""
FIRST_KINDS: Final = KINDS[:4]
"""The kinds generated before the last four were added (the default: same pictures as then)."""


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


def _shapes(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    # Clip-art: filled ellipses and rectangles on a flat background.
    image = Image.new("RGB", (SIDE, SIDE), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 12))):
        left, top = (int(v) for v in rng.integers(0, SIDE, 2))
        width, height = (int(v) for v in rng.integers(16, 160, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = (left, top, left + width, top + height)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    return np.asarray(image)


def _pattern(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    # Stripes or a checkerboard of two colours at a random period.
    period = int(rng.choice([4, 8, 16, 32, 64]))
    first, second = rng.integers(0, 256, (2, 3))
    rows, columns = np.mgrid[0:SIDE, 0:SIDE]
    cells = rows // period + (columns // period if rng.random() < 0.5 else 0)
    return np.where((cells % 2 == 1)[..., None], first, second)


def _texture(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    # Cloudy texture: noise at three scales summed and blurred, grey or tinted.
    total = np.zeros((SIDE, SIDE))
    for block in (4, 16, 64):
        total += np.kron(rng.random((SIDE // block, SIDE // block)), np.ones((block, block)))
    grey = (total - total.min()) / max(float(np.ptp(total)), 1e-9) * 255
    blurred = Image.fromarray(grey.astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    pixels = np.asarray(blurred.convert("RGB")).astype(np.float64)
    return pixels * rng.uniform(0.5, 1.0, 3) if rng.random() < 0.5 else pixels


def _blur(rng: np.random.Generator) -> np.ndarray:  # type: ignore[type-arg]
    noise = Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3)).astype(np.uint8), "RGB")
    return np.asarray(noise.filter(ImageFilter.GaussianBlur(float(rng.uniform(2, 8)))))


def checked_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """`kinds` if this module draws every one of them (and there is at least one).

    Raises:
        ValueError: an unknown kind, or none.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"unknown generated picture kinds {unknown or list(kinds)}: use some of {', '.join(KINDS)}"
        )
    return tuple(kinds)


MAKERS: Final = {
    "noise": _noise,
    "flat": _flat,
    "gradient": _gradient,
    "text": _text,
    "shapes": _shapes,
    "pattern": _pattern,
    "texture": _texture,
    "blur": _blur,
}


def synthetic_negatives(count: int, seed: int, kinds: Sequence[str] = FIRST_KINDS) -> list[bytes]:
    """`count` JPEG pictures, the `kinds` in turn.

    Raises:
        ValueError: an unknown kind.
    """
    rng = np.random.default_rng(seed)
    makers = [MAKERS[kind] for kind in checked_kinds(kinds)]
    return [_jpeg(np.asarray(makers[index % len(makers)](rng))) for index in range(count)]
