"""Synthetic photos and bad files for tests (nothing from the real dataset is copied here)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def photo(seed: int, size: tuple[int, int] = (240, 180)) -> Image.Image:
    """A distinct, textured RGB picture: smooth random blobs, so perceptual hashes differ."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_dataset(root: Path, per_class: int = 12, labels: tuple[str, ...] = ("dandelion", "grass")) -> Path:
    """A small valid source folder: `per_class` distinct JPEGs under each class folder."""
    seed = 0
    for label in labels:
        for i in range(per_class):
            seed += 1
            write(root / label / f"{i:05d}.jpg", jpeg_bytes(photo(seed)))
    return root


def decompression_bomb_png(side: int = 10_000) -> bytes:
    """A tiny PNG file that decodes to side x side pixels (100 megapixels by default)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def mpo_bytes(first: Image.Image, second: Image.Image, quality: int = 90) -> bytes:
    """A multi-picture JPEG (MPF segment, as phone cameras write): `first` is the photo shown."""
    buffer = io.BytesIO()
    first.convert("RGB").save(
        buffer, format="MPO", save_all=True, append_images=[second.convert("RGB")], quality=quality
    )
    return buffer.getvalue()
