"""Grad-CAM on a real (small, untrained) classifier as training builds and saves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from photo_factory import jpeg_bytes, photo

from greenr.explain.gradcam import CamModel, cam_model, explain, normalized, resized
from greenr.explain.keras_source import load_keras_model
from greenr.explain.photo import read_photo
from greenr.training.config import TrainingConfig

pytestmark = pytest.mark.slow  # builds and runs a Keras model

SIZE = 96  # a 3x3 feature map: small and fast, still a map


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The inference model (flip-averaged) saved and loaded back, as the API gets it."""
    import keras

    from greenr.training.model import build_classifier, inference_model

    # build_classifier draws its initial weights from Keras' global generators: seeded here, the
    # untrained model (and so every heatmap below) does not depend on which tests ran before.
    keras.utils.set_random_seed(3)
    classifier = build_classifier(TrainingConfig(image_size=SIZE, seed=3), backbone_weights=None)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    inference_model(classifier, flip_averaging=True).save(path)
    return load_keras_model(path.read_bytes())


@pytest.fixture(scope="module")
def model(saved_model: Any) -> CamModel:
    return cam_model(saved_model)


def model_input(seed: int, size: tuple[int, int] = (240, 180)) -> np.ndarray[Any, Any]:
    return read_photo(jpeg_bytes(photo(seed, size)), 40_000_000, SIZE).pixels


def test_the_model_is_read_as_trained(model: CamModel) -> None:
    assert model.input_size == SIZE
    assert model.flip_averaging
    assert model.labels_count == 2


def test_the_probabilities_are_the_served_ones(model: CamModel, saved_model: Any) -> None:
    pixels = model_input(1)
    served = np.asarray(saved_model(pixels[np.newaxis].astype(np.float32)))[0]
    np.testing.assert_allclose(explain(model, pixels).probabilities, served, atol=1e-5)


def test_the_heatmap_is_in_range_and_not_empty_for_the_predicted_class(model: CamModel) -> None:
    result = explain(model, model_input(2))
    assert result.heatmap.shape == (3, 3)
    assert result.heatmap.dtype == np.float32
    assert float(result.heatmap.min()) >= 0.0
    # The predicted class has positive log-odds, so some cell speaks for it; scaled to a peak of 1.
    assert float(result.heatmap.max()) == pytest.approx(1.0)
    assert result.class_index == int(np.argmax(result.probabilities))


def test_two_different_photos_give_different_heatmaps(model: CamModel) -> None:
    first = explain(model, model_input(3), class_index=0).heatmap
    second = explain(model, model_input(4), class_index=0).heatmap
    assert float(np.abs(first - second).max()) > 0.05


def test_the_same_photo_gives_the_same_heatmap(model: CamModel) -> None:
    pixels = model_input(5)
    np.testing.assert_array_equal(explain(model, pixels).heatmap, explain(model, pixels).heatmap)


def test_the_class_asked_is_explained(model: CamModel) -> None:
    pixels = model_input(6)
    for class_index in (0, 1):
        assert explain(model, pixels, class_index=class_index).class_index == class_index


def test_a_flip_averaged_model_gives_mirror_symmetric_explanations(model: CamModel) -> None:
    pixels = model_input(7)
    heatmap = explain(model, pixels, class_index=0).heatmap
    mirrored = explain(model, np.ascontiguousarray(pixels[:, ::-1]), class_index=0).heatmap
    np.testing.assert_allclose(mirrored, heatmap[:, ::-1], atol=1e-4)


def test_a_wrong_input_or_class_is_refused(model: CamModel) -> None:
    with pytest.raises(ValueError, match="expected"):
        explain(model, np.zeros((SIZE + 1, SIZE, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="class index 2"):
        explain(model, model_input(8), class_index=2)


def test_the_heatmap_takes_the_photo_size(model: CamModel) -> None:
    kept = read_photo(jpeg_bytes(photo(9, (317, 129))), 40_000_000, SIZE)
    heatmap = resized(explain(model, kept.pixels).heatmap, kept.picture.width, kept.picture.height)
    assert heatmap.shape == (129, 317)
    assert float(heatmap.min()) >= 0.0
    assert float(heatmap.max()) <= 1.0


def test_normalized_scales_by_the_peak_and_keeps_an_empty_map_empty() -> None:
    np.testing.assert_allclose(normalized(np.array([[0.0, 2.0], [1.0, 4.0]])), [[0, 0.5], [0.25, 1]])
    assert not normalized(np.zeros((2, 2))).any()


def test_a_sideways_phone_photo_is_explained_upright(tmp_path: Path) -> None:
    from PIL import ExifTags

    stored = photo(10, (200, 100))
    exif = stored.getexif()  # an empty Exif of the right type (Image.Exif() is untyped)
    exif[ExifTags.Base.Orientation] = 6  # turn 90 degrees clockwise to view
    data = tmp_path / "phone.jpg"
    stored.save(data, format="JPEG", exif=exif)
    kept = read_photo(data.read_bytes(), 40_000_000, SIZE)
    assert kept.picture.size == (100, 200)


def test_a_model_that_is_sure_still_gets_a_heatmap() -> None:
    """p = 1.0 in float32: through the probabilities, log(1 - p) would be -inf and the map NaN."""
    from greenr.training.model import build_classifier, inference_model

    classifier = build_classifier(TrainingConfig(image_size=SIZE, seed=4), backbone_weights=None)
    head = classifier.get_layer("probabilities")
    kernel, _ = head.get_weights()
    kernel[:, 0], kernel[:, 1] = 1.0, 0.0  # every feature speaks for class 0
    head.set_weights([kernel, np.array([100.0, -100.0], dtype=np.float32)])
    sure = cam_model(inference_model(classifier, flip_averaging=True))
    result = explain(sure, model_input(11), class_index=0)
    assert float(result.probabilities[0]) == 1.0
    assert np.isfinite(result.heatmap).all()
    assert float(result.heatmap.max()) == pytest.approx(1.0)
