"""The explainer: models fetched once per version, a small cache, one explanation at a time."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from photo_factory import jpeg_bytes, photo
from PIL import Image

from greenr.explain.explainer import Explainer, ExplainerBusy
from greenr.explain.keras_source import NoKerasModel
from greenr.training.config import TrainingConfig

pytestmark = pytest.mark.slow  # builds and runs a Keras model


@pytest.fixture(scope="module")
def keras_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from greenr.training.model import build_classifier, inference_model

    classifier = build_classifier(TrainingConfig(image_size=64, seed=1), backbone_weights=None)
    path: Path = tmp_path_factory.mktemp("model") / "model.keras"
    inference_model(classifier, flip_averaging=True).save(path)
    return path.read_bytes()


def test_the_overlay_is_a_png_of_the_photo_and_models_are_cached_by_version(keras_bytes: bytes) -> None:
    fetched: list[str] = []

    def fetch(name: str, version: str) -> bytes:
        fetched.append(version)
        return keras_bytes

    explainer = Explainer(fetch, max_models=2, threads=1, max_pixels=40_000_000)
    data = explainer.overlay_png("m", "1", jpeg_bytes(photo(1, (150, 90))))
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (150, 90)
    explainer.overlay_png("m", "1", jpeg_bytes(photo(2)))
    explainer.overlay_png("m", "2", jpeg_bytes(photo(2)))
    explainer.overlay_png("m", "3", jpeg_bytes(photo(2)))
    assert fetched == ["1", "2", "3"]
    assert explainer.cached_versions() == [("m", "2"), ("m", "3")]


def test_a_second_explanation_at_once_is_refused(keras_bytes: bytes) -> None:
    inside = threading.Event()
    release = threading.Event()

    def slow_fetch(name: str, version: str) -> bytes:
        inside.set()
        release.wait(30)
        return keras_bytes

    explainer = Explainer(slow_fetch, max_models=1, threads=1, max_pixels=40_000_000)
    first = threading.Thread(target=explainer.overlay_png, args=("m", "1", jpeg_bytes(photo(3))))
    first.start()
    try:
        assert inside.wait(30)
        with pytest.raises(ExplainerBusy):
            explainer.overlay_png("m", "1", jpeg_bytes(photo(4)))
    finally:
        release.set()
        first.join(60)
    # The slot is free again.
    assert explainer.overlay_png("m", "1", jpeg_bytes(photo(4))).startswith(b"\x89PNG")


def test_a_failed_fetch_frees_the_slot_and_caches_nothing() -> None:
    def no_model(name: str, version: str) -> bytes:
        raise NoKerasModel(f"version {version} has none")

    explainer = Explainer(no_model, max_models=1, threads=1, max_pixels=40_000_000)
    for _ in range(2):
        with pytest.raises(NoKerasModel):
            explainer.overlay_png("m", "7", jpeg_bytes(photo(5)))
    assert explainer.cached_versions() == []
