"""The open-set benchmark's out-of-domain pictures, in three sources.

- `neither`: the 100 near-domain flowers of /work/shared/data/neither (tulip, rose, sunflower,
  daisy), split per flower into a development half (may inform the method and quantile choice)
  and a held-out half (only measured on);
- `far`: scikit-image's sample pictures that ship with the package (greenr/open_set/far_domain.py),
  split into a development half and a held-out half like the flowers;
- `synthetic`: uniform noise, flat colours (a dandelion yellow and a lawn green among them) and
  rendered text.

Every picture becomes a JPEG upload, decoded later like the model server decodes uploads.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageDraw

from greenr.open_set import far_domain

from .drift_photos import NEITHER_DIR, Photo, picture_photo

HOLD_OUT_SEED: Final = 17
"""Seed of the development / held-out split of the "neither" flowers (fixed: never tuned)."""

FLAT_COLOURS: Final = {
    "dandelion-yellow": (240, 200, 20),
    "lawn-green": (70, 140, 40),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "grey": (128, 128, 128),
    "red": (200, 30, 30),
    "sky-blue": (120, 170, 230),
    "brown": (110, 80, 50),
}
TEXTS: Final = (
    "dandelion",
    "grass",
    "Lorem ipsum dolor sit amet",
    "greenr 2026",
    "NEITHER",
    "0123456789",
)
NOISE_PICTURES: Final = 8
SIDE: Final = 320


def neither_photos(folder: Path = NEITHER_DIR) -> dict[str, list[Photo]]:
    """The "neither" flowers as {"development": [...], "held_out": [...]}, half of each flower each."""
    halves: dict[str, list[Photo]] = {"development": [], "held_out": []}
    for flower in sorted(p for p in folder.iterdir() if p.is_dir()):
        paths = sorted(flower.glob("*.jpg"))
        random.Random(f"{HOLD_OUT_SEED}:{flower.name}").shuffle(paths)
        for index, path in enumerate(paths):
            half = "development" if index < len(paths) // 2 else "held_out"
            halves[half].append(Photo(f"neither/{flower.name}/{path.name}", path.read_bytes(), None, None))
    if not halves["held_out"]:
        raise SystemExit(f"no photos under {folder}/<flower>/*.jpg: the near-domain source is missing")
    return halves


def far_domain_photos() -> dict[str, list[Photo]]:
    """scikit-image's sample pictures as {"development": [...], "held_out": [...]}."""
    development, held_out = far_domain.halves()
    return {
        half: [
            Photo(f"skimage/{name}", data, None, None) for name, data in far_domain.far_domain_uploads(names)
        ]
        for half, names in (("development", development), ("held_out", held_out))
    }


def synthetic_photos() -> list[Photo]:
    """Uniform noise, flat colours and black-on-white / white-on-black text."""
    rng = np.random.default_rng(HOLD_OUT_SEED)
    photos = [
        picture_photo(f"synthetic/noise-{i}", rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))
        for i in range(NOISE_PICTURES)
    ]
    for name, colour in FLAT_COLOURS.items():
        photos.append(
            picture_photo(f"synthetic/flat-{name}", np.full((SIDE, SIDE, 3), colour, dtype=np.uint8))
        )
    for index, text in enumerate(TEXTS):
        ink, paper = ((0, 0, 0), (255, 255, 255)) if index % 2 == 0 else ((255, 255, 255), (0, 0, 0))
        image = Image.new("RGB", (SIDE, SIDE), paper)
        draw = ImageDraw.Draw(image)
        for line in range(8):
            draw.text((10, 10 + 38 * line), text, fill=ink, font_size=28)
        photos.append(picture_photo(f"synthetic/text-{index}", np.asarray(image)))
    return photos
