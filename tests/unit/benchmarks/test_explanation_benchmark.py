"""The explanation benchmark's measures: the centre box and border ring, the flower's colour mask,
the heat lift and the pointing game."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.explanation_benchmark import (
    centre_and_ring,
    heat_lift,
    photo_measures,
    points_at,
    yellow_mask,
)


def test_the_centre_is_a_quarter_and_the_ring_the_outer_eighth() -> None:
    centre, ring = centre_and_ring(80, 160)
    assert centre.mean() == 0.25
    assert ring.mean() == 1 - 0.75 * 0.75
    assert not (centre & ring).any()
    assert centre[40, 80]
    assert ring[0, 0]
    assert ring[79, 159]


def test_yellow_is_found_and_green_is_not() -> None:
    picture = np.zeros((10, 20, 3), dtype=np.uint8)
    picture[:, :10] = (250, 220, 20)  # dandelion yellow
    picture[:, 10:] = (40, 150, 40)  # grass green
    mask = yellow_mask(Image.fromarray(picture))
    assert mask[:, :10].all()
    assert not mask[:, 10:].any()


def test_heat_on_the_mask_lifts_above_one_and_even_heat_is_one() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[:5] = True
    focused = np.zeros((10, 10), dtype=np.float32)
    focused[:5] = 1.0
    assert heat_lift(focused, mask) == 2.0
    assert heat_lift(np.ones((10, 10), dtype=np.float32), mask) == 1.0
    assert heat_lift(np.zeros((10, 10), dtype=np.float32), mask) is None


def test_the_pointing_game_looks_at_the_hottest_pixel() -> None:
    mask = np.zeros((100, 100), dtype=bool)
    mask[10:20, 10:20] = True
    heat = np.zeros((100, 100), dtype=np.float32)
    heat[15, 15] = 1.0
    assert points_at(heat, mask)
    heat[80, 80] = 2.0
    assert not points_at(heat, mask)


def test_a_central_flower_with_central_heat_scores_on_every_measure() -> None:
    picture = np.full((64, 64, 3), (40, 150, 40), dtype=np.uint8)
    picture[24:40, 24:40] = (250, 220, 20)
    heat = np.zeros((64, 64), dtype=np.float32)
    heat[26:38, 26:38] = 1.0
    measures = photo_measures(heat, Image.fromarray(picture))
    assert measures["centre_mean_heat"] > measures["ring_mean_heat"]
    assert measures["flower_lift"] > 1
    assert measures["points_at_flower"] is True
