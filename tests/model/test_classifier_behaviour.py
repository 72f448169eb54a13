"""Behaviour of a classifier trained with the real config on the real 400 photos.

Tests run with an empty, isolated GREENR_HOME, so the session fixture builds its own data: it
reads the photos from `greenr.settings.DEFAULT_SOURCE` (read only, nothing is copied), splits
them like the ingestion pipeline does (configs/ingestion.yaml's seed and group distance, the
contract's fractions, so the test split is the ingested dataset's), and trains once with
configs/training.yaml. Training takes about three minutes on the 2-core development machine.

Checks: minimum functionality (test accuracy floor, obviously clear photos of each class),
invariance (mirror image, +-10 % brightness), well-formed outputs, and where the explanation
of a dandelion close-up is hot (the centre, not the border).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from greenr.contracts import SPLITS
from greenr.dataset.rules import ImageRules
from greenr.images.decoding import decode_image
from greenr.images.perceptual_hash import dhash
from greenr.images.preprocess import to_model_input
from greenr.ingestion.config import load_ingestion_config
from greenr.ingestion.split import SplitItem, assign_splits
from greenr.settings import DEFAULT_SOURCE
from greenr.training.config import load_training_config
from greenr.training.data import DEFAULT_MAX_PIXELS, SplitArrays, decode_to_arrays

pytestmark = [pytest.mark.model, pytest.mark.slow]

LABELS = ImageRules.from_suite().labels
# Looked at one by one: a single open yellow flower head filling the frame, or a plain lawn /
# close-up of grass blades, with nothing else in the picture.
CLEAR_EXAMPLES = {
    "dandelion": ("00000003", "00000018", "00000078", "00000094"),
    "grass": ("00000000", "00000011", "00000090", "00000184"),
}
TEST_ACCURACY_FLOOR = 0.95  # the training benchmark measures more over 5 re-splits


@dataclass(frozen=True)
class Trained:
    """The trained inference model, the data it was trained on, and how long it took."""

    model: Any
    data: dict[str, SplitArrays]
    train_seconds: float


def _source_photos() -> list[tuple[Path, str]]:
    photos = [(path, label) for label in LABELS for path in sorted((DEFAULT_SOURCE / label).glob("*.jpg"))]
    if len(photos) < 400:
        pytest.fail(f"the 400 greenr photos are expected under {DEFAULT_SOURCE}, found {len(photos)}")
    return photos


def _split_like_ingestion(photos: list[tuple[Path, str]]) -> dict[str, SplitArrays]:
    ingestion = load_ingestion_config()
    blobs = {str(path): path.read_bytes() for path, _ in photos}
    shas = [hashlib.sha256(blobs[str(path)]).hexdigest() for path, _ in photos]
    items = [
        SplitItem(sha, label, dhash(decode_image(blobs[str(path)], DEFAULT_MAX_PIXELS).image))
        for sha, (path, label) in zip(shas, photos, strict=True)
    ]
    assignment = assign_splits(
        items,
        {},
        ingestion.fractions,
        ingestion.seed,
        ingestion.group_distance,
    )
    everything = decode_to_arrays(
        blobs.__getitem__,
        [str(path) for path, _ in photos],
        [LABELS.index(label) for _, label in photos],
        shas,
    )
    return {
        split: everything.take([i for i, sha in enumerate(shas) if assignment[sha] == split])
        for split in SPLITS
    }


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from greenr.model.pretrained_weights import load_imagenet_weights
    from greenr.training.train import train_classifier

    data = _split_like_ingestion(_source_photos())
    weights = load_imagenet_weights(tmp_path_factory.mktemp("weights"))
    started = time.perf_counter()
    result = train_classifier(data, load_training_config(), weights)
    return Trained(result.model, data, time.perf_counter() - started)


def _probabilities(model: Any, images: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    from greenr.training.evaluation import predict_probabilities

    return predict_probabilities(model, images)


def test_test_accuracy_is_above_the_floor(trained: Trained) -> None:
    test = trained.data["test"]
    predicted = _probabilities(trained.model, test.images).argmax(axis=1)
    accuracy = float((predicted == test.labels).mean())
    assert accuracy >= TEST_ACCURACY_FLOOR, f"test accuracy {accuracy:.1%} < {TEST_ACCURACY_FLOOR:.0%}"


@pytest.mark.parametrize(
    ("label", "name"), [(label, name) for label, names in CLEAR_EXAMPLES.items() for name in names]
)
def test_clear_examples_are_right(trained: Trained, label: str, name: str) -> None:
    with Image.open(DEFAULT_SOURCE / label / f"{name}.jpg") as image:
        pixels = to_model_input(image, load_training_config().image_size)[np.newaxis]
    probabilities = _probabilities(trained.model, pixels)[0]
    assert LABELS[int(probabilities.argmax())] == label, (
        f"{label}/{name}: {dict(zip(LABELS, probabilities, strict=True))}"
    )
    assert probabilities[LABELS.index(label)] >= 0.8, f"{label}/{name} is clear, yet p={probabilities}"


def _agreement(model: Any, images: np.ndarray[Any, Any], changed: np.ndarray[Any, Any]) -> float:
    before = _probabilities(model, images).argmax(axis=1)
    after = _probabilities(model, changed).argmax(axis=1)
    return float((before == after).mean())


def test_mirror_image_gets_the_same_class(trained: Trained) -> None:
    images = trained.data["test"].images
    agreement = _agreement(trained.model, images, images[:, :, ::-1])
    assert agreement >= 0.95, f"the class changed under a horizontal flip for {1 - agreement:.0%} of images"


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_mild_brightness_change_keeps_the_class(trained: Trained, factor: float) -> None:
    images = trained.data["test"].images
    changed = np.clip(images.astype(np.float32) * factor, 0, 255).astype(np.uint8)
    agreement = _agreement(trained.model, images, changed)
    assert agreement >= 0.95, f"brightness x{factor} changed the class of {1 - agreement:.0%} of images"


def test_outputs_are_deterministic_distributions(trained: Trained) -> None:
    images = trained.data["validation"].images[:8]
    first = _probabilities(trained.model, images)
    assert first.shape == (8, 2)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(first, _probabilities(trained.model, images))


def test_training_fits_the_time_budget(trained: Trained) -> None:
    # 4 minutes per run is the target on the 2-core machine; the margin absorbs a busy machine.
    assert trained.train_seconds <= 6 * 60, f"training took {trained.train_seconds:.0f} s"


@pytest.mark.parametrize("name", CLEAR_EXAMPLES["dandelion"])
def test_a_dandelion_close_up_is_explained_by_the_flower_not_the_border(trained: Trained, name: str) -> None:
    """The Grad-CAM heatmap (as GET /predictions/{id}/explanation draws it) of a close-up, whose
    flower fills the middle, is hotter in the central box than in the border ring (measured on
    the whole test split: benchmarks/explanation_benchmark.py)."""
    from benchmarks.explanation_benchmark import centre_and_ring
    from greenr.explain.gradcam import cam_model, explain, resized
    from greenr.explain.photo import read_photo

    model = cam_model(trained.model)
    kept = read_photo(
        (DEFAULT_SOURCE / "dandelion" / f"{name}.jpg").read_bytes(), DEFAULT_MAX_PIXELS, model.input_size
    )
    explanation = explain(model, kept.pixels, LABELS.index("dandelion"))
    heatmap = resized(explanation.heatmap, kept.picture.width, kept.picture.height)
    assert heatmap.shape == (kept.picture.height, kept.picture.width)
    centre, ring = centre_and_ring(*heatmap.shape)
    assert heatmap[centre].mean() > 2 * heatmap[ring].mean(), (heatmap[centre].mean(), heatmap[ring].mean())
