"""The heatmap drawn over the photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from photo_factory import photo
from PIL import Image

from greenr.explain.overlay import colorized, overlaid, png_bytes


def test_the_colour_scale_runs_from_blue_to_red() -> None:
    colours = colorized(np.array([[0.0, 1.0]], dtype=np.float32))
    cold, hot = colours[0, 0].astype(int), colours[0, 1].astype(int)
    assert cold[2] > cold[0]  # blue
    assert hot[0] > hot[2]  # red
    assert colours.dtype == np.uint8


def test_the_overlay_has_the_photo_size_and_shows_the_heat() -> None:
    picture = photo(1, (120, 80))
    heatmap = np.zeros((80, 120), dtype=np.float32)
    heatmap[:, 60:] = 1.0
    result = overlaid(picture, heatmap)
    assert result.size == picture.size
    assert result.mode == "RGB"
    pixels = np.asarray(result).astype(int) - np.asarray(picture).astype(int)
    # Red pushed up where it is hot, blue where it is cold.
    assert pixels[:, 60:, 0].mean() > pixels[:, :60, 0].mean()
    assert pixels[:, :60, 2].mean() > pixels[:, 60:, 2].mean()


def test_the_overlay_png_is_a_png_of_the_photo_size() -> None:
    picture = photo(2, (64, 48))
    data = png_bytes(overlaid(picture, np.full((48, 64), 0.5, dtype=np.float32)))
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (64, 48)


def test_a_heatmap_of_another_size_or_a_bad_alpha_is_refused() -> None:
    picture = photo(3, (64, 48))
    with pytest.raises(ValueError, match="heatmap is 48x64"):
        overlaid(picture, np.zeros((64, 48), dtype=np.float32))
    with pytest.raises(ValueError, match="alpha"):
        overlaid(picture, np.zeros((48, 64), dtype=np.float32), alpha=1.5)
