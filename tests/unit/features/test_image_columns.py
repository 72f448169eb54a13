"""The image columns on synthetic pictures whose statistics are known: one test per column."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageFilter

from greenr.features.definitions import feature_set
from greenr.features.image_columns import HEAVY_JPEG_QUALITY, image_columns

SIZE = 64


def _flat(rgb: tuple[int, int, int]) -> npt.NDArray[np.uint8]:
    return np.full((SIZE, SIZE, 3), rgb, dtype=np.uint8)


def _texture(seed: int = 0) -> npt.NDArray[np.uint8]:
    """A lawn-like noisy picture (every statistic away from its extremes)."""
    rng = np.random.default_rng(seed)
    base = np.array([70, 140, 60], dtype=np.float64)
    return np.clip(base + rng.normal(0, 40, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)


def _columns(pixels: npt.NDArray[np.uint8], width: int = 640, height: int = 480) -> dict[str, float]:
    """The pixel and size columns as numbers (the JPEG columns are empty: no upload header here)."""
    return {
        name: float(value)
        for name, value in image_columns(pixels, width, height).items()
        if value is not None
    }


def test_the_keys_are_the_feature_sets_image_columns() -> None:
    assert tuple(image_columns(_texture(), 640, 480)) == feature_set().names("image")


def test_brightness_is_mean_luma_and_drops_with_darkening() -> None:
    assert _columns(_flat((0, 0, 0)))["brightness"] == 0.0
    assert _columns(_flat((255, 255, 255)))["brightness"] == pytest.approx(1.0)
    # BT.601: pure green is brighter than pure red, which is brighter than pure blue.
    assert _columns(_flat((0, 255, 0)))["brightness"] == pytest.approx(0.587, abs=1e-6)
    photo = _texture()
    dusk = (photo * 0.6).astype(np.uint8)
    assert _columns(dusk)["brightness"] < 0.65 * float(_columns(photo)["brightness"])


def test_contrast_is_zero_for_a_flat_picture_and_grows_with_spread() -> None:
    assert _columns(_flat((90, 90, 90)))["contrast"] == 0.0
    halves = _flat((0, 0, 0))
    halves[:, SIZE // 2 :] = 255
    assert _columns(halves)["contrast"] == pytest.approx(0.5, abs=1e-6)
    assert 0.0 < float(_columns(_texture())["contrast"]) < 0.5


def test_saturation_is_zero_for_grey_and_one_for_pure_colours() -> None:
    grey = np.repeat(_texture()[..., :1], 3, axis=2)
    assert _columns(grey)["saturation"] == 0.0
    assert _columns(_flat((255, 0, 0)))["saturation"] == pytest.approx(1.0)
    assert 0.0 < float(_columns(_texture())["saturation"]) < 1.0


@pytest.mark.parametrize(
    ("rgb", "hue"),
    [((255, 0, 0), 0.0), ((255, 255, 0), 1 / 6), ((0, 255, 0), 1 / 3), ((0, 0, 255), 2 / 3)],
)
def test_hue_follows_the_colour_wheel(rgb: tuple[int, int, int], hue: float) -> None:
    assert _columns(_flat(rgb))["hue"] == pytest.approx(hue, abs=1e-6)


def test_hue_is_a_circular_mean_over_saturated_pixels_only() -> None:
    reds = _flat((255, 0, 40))  # hue just below 1
    reds[:, SIZE // 2 :] = (255, 40, 0)  # hue just above 0
    value = float(_columns(reds)["hue"])
    assert min(value, 1.0 - value) < 0.01  # red, not the arithmetic mean's cyan (0.5)
    mixed = _flat((128, 128, 128))  # grey pixels have no hue and do not count
    mixed[:4] = (0, 0, 255)
    assert _columns(mixed)["hue"] == pytest.approx(2 / 3, abs=1e-6)
    assert _columns(_flat((128, 128, 128)))["hue"] == 0.0


def test_entropy_counts_the_bits_of_the_luma_histogram() -> None:
    assert _columns(_flat((10, 200, 30)))["entropy"] == 0.0
    halves = _flat((0, 0, 0))
    halves[:, SIZE // 2 :] = 255
    assert _columns(halves)["entropy"] == pytest.approx(1.0)
    assert float(_columns(_texture())["entropy"]) > 4.0


def test_sharpness_drops_with_blur() -> None:
    assert _columns(_flat((80, 160, 40)))["sharpness"] == 0.0
    photo = _texture()
    blurred = np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(2)), dtype=np.uint8)
    assert float(_columns(blurred)["sharpness"]) < 0.5 * float(_columns(photo)["sharpness"])


def test_size_columns_are_the_uploads() -> None:
    columns = image_columns(_texture(), 4032, 1008)
    assert (columns["width"], columns["height"]) == (4032, 1008)
    assert isinstance(columns["width"], int)
    assert columns["aspect_ratio"] == pytest.approx(4.0)


def test_the_columns_depend_on_the_pixels_only_not_their_memory_layout() -> None:
    photo = _texture()
    assert _columns(np.asfortranarray(photo)) == pytest.approx(_columns(photo))


@pytest.mark.parametrize(
    ("pixels", "width", "height"),
    [
        (np.zeros((8, 8, 3), dtype=np.float32), 8, 8),
        (np.zeros((8, 8), dtype=np.uint8), 8, 8),
        (np.zeros((8, 8, 3), dtype=np.uint8), 0, 8),
    ],
)
def test_wrong_input_is_refused_with_the_reason(
    pixels: npt.NDArray[np.generic], width: int, height: int
) -> None:
    with pytest.raises(ValueError, match="image columns need"):
        image_columns(pixels, width, height)  # type: ignore[arg-type]


def test_the_hue_threshold_is_saturation_0_2_inclusive() -> None:
    pixels = _flat((0, 0, 255))  # blue, hue 2/3
    pixels[: SIZE // 2] = (200, 161, 161)  # saturation 0.195: no hue
    assert _columns(pixels)["hue"] == pytest.approx(2 / 3, abs=1e-6)
    pixels = _flat((0, 255, 0))  # green, hue 1/3
    pixels[: SIZE // 2] = (255, 204, 204)  # saturation exactly 0.2, hue 0: counts
    assert _columns(pixels)["hue"] == pytest.approx(1 / 6, abs=1e-6)


def test_the_jpeg_columns_say_how_hard_the_upload_was_compressed() -> None:
    heavy = image_columns(_texture(), 640, 480, jpeg_quality=12.0)
    usual = image_columns(_texture(), 640, 480, jpeg_quality=HEAVY_JPEG_QUALITY)
    not_jpeg = image_columns(_texture(), 640, 480)

    assert (heavy["jpeg_quality"], heavy["jpeg_compression"]) == (12.0, "heavy")
    assert (usual["jpeg_quality"], usual["jpeg_compression"]) == (HEAVY_JPEG_QUALITY, "normal")
    assert (not_jpeg["jpeg_quality"], not_jpeg["jpeg_compression"]) == (None, None)
