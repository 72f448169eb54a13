"""The drift benchmark's parts that decide what it measures: the variations and shifts, the
window draws, the targets' verdict and the config overrides."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from photo_factory import jpeg_bytes, photo
from PIL import Image

from benchmarks.drift_benchmark import (
    CLASS_MIX,
    HALF_OUT_OF_DOMAIN,
    OUT_OF_DOMAIN,
    UNSHIFTED,
    Bank,
    Draws,
    resolved_config,
    verdict,
    window_rows,
)
from benchmarks.drift_shifts import IMAGE_SHIFTS, variant
from greenr.features.image_columns import image_columns
from greenr.images.preprocess import decode_sized_model_input
from greenr.monitoring.config import DEFAULT_CONFIG

# Smooth colour blobs plus pixel-level texture, so that a blur has detail to remove.
_TEXTURE = np.random.default_rng(3).integers(-40, 41, size=(200, 300, 3))
ORIGINAL = jpeg_bytes(
    Image.fromarray(
        np.clip(np.asarray(photo(3, (300, 200)), dtype=np.int64) + _TEXTURE, 0, 255).astype(np.uint8)
    )
)


def columns_of(data: bytes) -> dict[str, Any]:
    sized = decode_sized_model_input(data, 10_000_000, 224)
    return image_columns(sized.pixels, sized.width, sized.height, sized.jpeg_quality)


def test_a_light_variation_crops_the_photo_unless_told_to_resize_the_crop_back() -> None:
    rng = np.random.default_rng(1)
    sizes = set()
    for _ in range(5):
        assert Image.open(io.BytesIO(variant(ORIGINAL, rng, keep_size=True))).size == (300, 200)
        width, height = Image.open(io.BytesIO(variant(ORIGINAL, rng))).size
        assert 270 <= width <= 300
        assert 180 <= height <= 200
        sizes.add((width, height))
    assert len(sizes) > 1


def test_the_shifts_move_the_columns_they_are_about() -> None:
    rng = np.random.default_rng(2)
    plain = columns_of(variant(ORIGINAL, np.random.default_rng(2)))
    dusk = columns_of(variant(ORIGINAL, rng, shift=IMAGE_SHIFTS["brightness x0.6"]))
    assert float(dusk["brightness"]) == pytest.approx(0.6 * float(plain["brightness"]), rel=0.05)
    gray = columns_of(variant(ORIGINAL, np.random.default_rng(2), shift=IMAGE_SHIFTS["grayscale"]))
    assert float(gray["saturation"]) < 0.02 < float(plain["saturation"])
    blurred = columns_of(variant(ORIGINAL, np.random.default_rng(2), shift=IMAGE_SHIFTS["gaussian blur r2"]))
    assert float(blurred["sharpness"]) < 0.7 * float(plain["sharpness"])
    assert plain["jpeg_compression"] == "normal"
    assert columns_of(variant(ORIGINAL, np.random.default_rng(2), quality=10))["jpeg_compression"] == "heavy"


def bank_of(photos: int, tag: str) -> list[list[dict[str, float | int | str | None]]]:
    return [[{"photo": f"{tag}{i}", "variant": v} for v in range(3)] for i in range(photos)]


def test_windows_draw_the_class_mix_and_the_out_of_domain_share() -> None:
    labels: list[str | None] = [*(["dandelion"] * 5), *(["grass"] * 5)]
    bank: Bank = {UNSHIFTED: bank_of(10, "in"), OUT_OF_DOMAIN: bank_of(4, "out")}
    draws = Draws(labels, list(range(10)), list(range(4)))
    rng = np.random.default_rng(3)
    mix = window_rows(bank, CLASS_MIX, draws, 100, rng)
    dandelions = sum(int(str(row["photo"])[2:]) < 5 for row in mix)
    assert (len(mix), dandelions) == (100, 90)
    half = window_rows(bank, HALF_OUT_OF_DOMAIN, draws, 51, rng)
    assert sum(str(row["photo"]).startswith("out") for row in half) == 25
    plain = window_rows(bank, UNSHIFTED, draws, 200, rng)
    assert {str(row["photo"]) for row in plain} == {f"in{i}" for i in range(10)}
    assert {row["variant"] for row in plain} == {0, 1, 2}
    # A selection run draws from its subset only.
    subset = Draws(labels, [0, 1, 7], [1, 3])
    rows = window_rows(bank, HALF_OUT_OF_DOMAIN, subset, 200, rng)
    assert {str(row["photo"]) for row in rows} == {"in0", "in1", "in7", "out1", "out3"}


def test_the_verdict_judges_windows_of_100_against_the_targets() -> None:
    unshifted = [
        {"condition": UNSHIFTED, "window": 100, "windows": 200, "rate": 0.05},
        {"condition": UNSHIFTED, "window": 50, "windows": 200, "rate": 0.5},
    ]
    shifted = [
        {"condition": "grayscale", "window": 100, "windows": 100, "rate": 0.9},
        {"condition": "dusk", "window": 100, "windows": 100, "rate": 0.89},
        {"condition": "dusk", "window": 200, "windows": 100, "rate": 1.0},
    ]
    assert verdict(unshifted, shifted) == {"false alarms": True, "grayscale": True, "dusk": False}
    too_few = [{"condition": UNSHIFTED, "window": 100, "windows": 199, "rate": 0.0}]
    assert verdict(too_few, []) == {"false alarms": False}


def test_config_overrides_are_validated() -> None:
    assert resolved_config(DEFAULT_CONFIG, ["embedding_test=ks", "alpha=0.05"]).embedding_test == "ks"
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        resolved_config(DEFAULT_CONFIG, ["embedding_test"])
    with pytest.raises(ValueError, match="embedding_test"):
        resolved_config(DEFAULT_CONFIG, ["embedding_test=wasserstein"])
