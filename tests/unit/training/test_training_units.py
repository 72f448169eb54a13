"""Units of the training core: config, data loading, model stages, augmentation, metrics, plots.

The network here has random weights (no ImageNet file needed) and the images are synthetic, so
these tests check wiring and arithmetic, not accuracy (tests/model does that).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from photo_factory import jpeg_bytes, photo

from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from greenr.settings import get_settings
from greenr.storage.object_store import ObjectStore, open_object_store, s3_options
from greenr.training.config import (
    DEFAULT_CONFIG,
    AugmentationConfig,
    TrainingConfig,
    load_training_config,
    parse_overrides,
)
from greenr.training.data import (
    DatasetVersionNotFound,
    SplitArrays,
    load_split_arrays,
    read_manifest,
    without_photos,
)
from greenr.training.evaluation import (
    EvaluationReport,
    report_from_probabilities,
    roc_auc,
    write_confusion_matrix_png,
    write_misclassified_grid_png,
    write_reliability_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = 64  # image side for model tests: the architecture is size-agnostic and 64 px is fast


# --- config ------------------------------------------------------------------------------------


def test_repository_config_is_valid_and_complete() -> None:
    config = load_training_config(DEFAULT_CONFIG)
    assert config.image_size == MODEL_INPUT_SIZE
    assert config.fine_tune.learning_rate < config.head.learning_rate


def test_overrides_use_dotted_keys_and_ignore_none(tmp_path: Path) -> None:
    path = tmp_path / "training.yaml"
    path.write_text("seed: 1\nfine_tune:\n  epochs: 3\n  learning_rate: 0.001\n")
    config = load_training_config(
        path, {"fine_tune.epochs": 7, "augmentation.zoom": 0.0, "seed": None, "batch_size": 8}
    )
    assert config.seed == 1  # None leaves the YAML value
    assert config.fine_tune.epochs == 7
    assert config.fine_tune.learning_rate == 0.001  # siblings of an overridden key are kept
    assert config.augmentation.zoom == 0.0
    assert config.batch_size == 8


def test_bad_configs_fail_loudly(tmp_path: Path) -> None:
    path = tmp_path / "training.yaml"
    path.write_text("seed: 1\n")
    with pytest.raises(ValueError, match="epocks"):
        load_training_config(path, {"fine_tune.epocks": 3})
    with pytest.raises(ValueError, match="unknown block"):
        load_training_config(path, {"fine_tune.unfreeze_from": "block9z"})
    with pytest.raises(ValueError, match="learning_rate"):
        load_training_config(path, {"head.learning_rate": 0})
    with pytest.raises(ValueError, match="not a section"):
        load_training_config(path, {"seed.value": 1})


def test_parse_overrides_reads_yaml_values(tmp_path: Path) -> None:
    overrides = parse_overrides(["fine_tune.epochs=10", "flip_averaging=false", "head.learning_rate=1e-3"])
    assert overrides == {"fine_tune.epochs": 10, "flip_averaging": False, "head.learning_rate": "1e-3"}
    path = tmp_path / "training.yaml"
    path.write_text("{}\n")
    config = load_training_config(path, overrides)
    # YAML 1.1 reads 1e-3 as a string; the config's field type turns it into the number.
    assert config.head.learning_rate == 1e-3
    assert config.fine_tune.epochs == 10
    assert config.flip_averaging is False
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["epochs"])


def test_photos_left_out_of_training_are_named_by_sha256(tmp_path: Path) -> None:
    path = tmp_path / "training.yaml"
    path.write_text("{}\n")
    digest = "9d3b1b7a6844a23769d3b1da0f6343aef4049db9134321fcedebe5d40f735f0b"
    config = load_training_config(path, parse_overrides([f"exclude_from_training=[{digest}]"]))
    assert config.exclude_from_training == (digest,)
    for bad in ("dandelion/00000049.jpg", digest.upper(), digest[:-1]):
        with pytest.raises(ValueError, match="not a sha256 digest"):
            load_training_config(path, {"exclude_from_training": [bad]})


# --- data ----------------------------------------------------------------------------------------


def _store_with_dataset(tmp_path: Path) -> ObjectStore:
    settings = get_settings()
    store = open_object_store(str(tmp_path / "lake"), s3_options(settings))
    members = []
    for i, (label, split) in enumerate(
        [("grass", "train"), ("dandelion", "train"), ("dandelion", "validation"), ("grass", "test")]
    ):
        data = jpeg_bytes(photo(i, size=(300 - 40 * i, 120 + 30 * i)))
        sha = f"{i:064x}"
        store.put(f"raw/{sha}.jpg", data)
        store.put(f"{split}/{label}/{sha}.jpg", data)
        members.append(
            {
                "sha256": sha,
                "label": label,
                "split": split,
                "key": f"{split}/{label}/{sha}.jpg",
                "raw_key": f"raw/{sha}.jpg",
            }
        )
    manifest = {
        "id": "ds-test",
        "created_at": "2026-01-01T00:00:00+00:00",
        "members": list(reversed(members)),
    }
    store.put("processed/datasets/ds-test.json", json.dumps(manifest).encode())
    return store


def test_split_arrays_come_from_the_manifest(tmp_path: Path) -> None:
    store = _store_with_dataset(tmp_path)
    manifest = read_manifest(store, "ds-test")
    arrays = load_split_arrays(store, manifest, size=32, labels=LABELS)

    assert set(arrays) == {"train", "validation", "test"}
    train = arrays["train"]
    assert train.images.shape == (2, 32, 32, 3)
    assert train.images.dtype == np.uint8
    assert train.sha256 == sorted(train.sha256)  # order independent of the manifest's
    assert train.labels.tolist() == [1, 0]  # grass = 1, dandelion = 0
    assert arrays["test"].labels.tolist() == [1]
    assert arrays["validation"].take([0]).sha256 == arrays["validation"].sha256


def test_without_photos_drops_only_the_listed_ones_and_keeps_the_order() -> None:
    split = SplitArrays(
        images=np.arange(3, dtype=np.uint8).reshape(3, 1, 1, 1).repeat(3, axis=3),
        labels=np.array([0, 1, 0]),
        sha256=["a" * 64, "b" * 64, "c" * 64],
    )
    kept = without_photos(split, ["b" * 64, "f" * 64])  # one listed photo is not in this split
    assert kept.sha256 == ["a" * 64, "c" * 64]
    assert kept.labels.tolist() == [0, 0]
    assert kept.images[:, 0, 0, 0].tolist() == [0, 2]
    assert len(without_photos(split, [])) == 3


def test_training_leaves_the_listed_photos_out_of_the_train_split(tmp_path: Path) -> None:
    store = _store_with_dataset(tmp_path)
    arrays = load_split_arrays(store, read_manifest(store, "ds-test"), size=32, labels=LABELS)
    from greenr.training.train import train_classifier

    # Every train photo listed: nothing is left to train on, which training refuses before it
    # builds a model (the arrays passed in are not changed).
    config = TrainingConfig(exclude_from_training=tuple(arrays["train"].sha256))
    with pytest.raises(ValueError, match="non-empty 'train' split"):
        train_classifier(arrays, config, backbone_weights=None)
    assert len(arrays["train"]) == 2


def test_missing_dataset_version_says_what_to_do(tmp_path: Path) -> None:
    store = _store_with_dataset(tmp_path)
    with pytest.raises(DatasetVersionNotFound, match="run the ingestion pipeline"):
        read_manifest(store, "ds-nope")


def test_unknown_label_is_refused(tmp_path: Path) -> None:
    store = _store_with_dataset(tmp_path)
    with pytest.raises(ValueError, match="not among"):
        load_split_arrays(store, read_manifest(store, "ds-test"), size=32, labels=("dandelion", "clover"))


# --- model -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_config() -> TrainingConfig:
    return TrainingConfig(image_size=SMALL, seed=3)


@pytest.fixture(scope="module")
def classifier(small_config: TrainingConfig) -> Any:
    from greenr.training.model import build_classifier

    return build_classifier(small_config, backbone_weights=None)


def _images(n: int, size: int = SMALL, seed: int = 0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).uniform(0, 255, size=(n, size, size, 3)).astype(np.float32)


def _trainable_names(model: Any) -> set[str]:
    return {weight.path.split("/")[-2] for weight in model.trainable_weights}


def test_classifier_outputs_two_probabilities(classifier: Any) -> None:
    probabilities = np.asarray(classifier(_images(3), training=False))
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_stages_choose_what_learns(classifier: Any, small_config: TrainingConfig) -> None:
    from greenr.training.model import backbone_of, set_stage

    assert set_stage(classifier, "head", small_config) == []
    assert _trainable_names(classifier) == {"probabilities"}

    unfrozen = set_stage(classifier, "fine_tune", small_config)
    backbone = backbone_of(classifier)
    assert unfrozen[0] == "block6a_expand_conv"
    assert backbone.get_layer("block6a_dwconv").trainable
    assert backbone.get_layer("top_conv").trainable
    assert not backbone.get_layer("block5c_project_conv").trainable
    assert not backbone.get_layer("block6a_bn").trainable  # BatchNorm keeps ImageNet statistics
    assert {"probabilities", "top_conv", "block7a_project_conv"} <= _trainable_names(classifier)
    assert "block5c_project_conv" not in _trainable_names(classifier)

    with pytest.raises(ValueError, match="unknown stage"):
        set_stage(classifier, "everything", small_config)
    set_stage(classifier, "head", small_config)


def _all_layers(model: Any) -> list[Any]:
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if hasattr(layer, "layers"):
            layers.extend(_all_layers(layer))
    return layers


def test_inference_model_is_deterministic_and_has_no_random_layer(classifier: Any) -> None:
    from greenr.training.model import inference_model

    model = inference_model(classifier, flip_averaging=True)
    kinds = {type(layer).__name__ for layer in _all_layers(model)}
    assert not {kind for kind in kinds if kind.startswith("Random")}
    images = _images(4, seed=1)
    first = np.asarray(model(images, training=False))
    np.testing.assert_array_equal(first, np.asarray(model(images, training=False)))
    assert first.shape == (4, 2)
    # Flip averaging makes the prediction exactly mirror-invariant...
    np.testing.assert_allclose(first, np.asarray(model(images[:, :, ::-1], training=False)), atol=1e-6)
    # ...and is the mean of the classifier's probabilities for each image and its own mirror
    # (the batch of 2N keeps every image paired with its mirror, not with a neighbour's).
    direct = np.asarray(classifier(images, training=False))
    expected = (direct + np.asarray(classifier(images[:, :, ::-1], training=False))) / 2
    np.testing.assert_allclose(first, expected, atol=1e-6)
    # One image and batches of odd size pair up the same way.
    np.testing.assert_allclose(np.asarray(model(images[:1], training=False)), expected[:1], atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(images[:3], training=False)), expected[:3], atol=1e-6)
    # Without it, the model is the classifier itself.
    plain = inference_model(classifier, flip_averaging=False)
    np.testing.assert_allclose(np.asarray(plain(images)), np.asarray(classifier(images, training=False)))


def test_the_serving_graph_adds_the_flip_averaged_pooled_features(classifier: Any) -> None:
    from greenr.training.model import backbone_of, inference_model

    images = _images(3, seed=2)
    for flip in (True, False):
        probabilities, embedding = inference_model(classifier, flip_averaging=flip, embedding=True)(images)
        plain = inference_model(classifier, flip_averaging=flip)(images)
        np.testing.assert_allclose(np.asarray(probabilities), np.asarray(plain), atol=1e-6)
        pooled = np.asarray(backbone_of(classifier)(images, training=False))
        if flip:  # like the probabilities: the mean over the image and its mirror
            pooled = (pooled + np.asarray(backbone_of(classifier)(images[:, :, ::-1], training=False))) / 2
        assert np.asarray(embedding).shape == pooled.shape
        np.testing.assert_allclose(np.asarray(embedding), pooled, rtol=1e-5, atol=1e-5)


def test_inference_model_saves_without_training_state(classifier: Any, tmp_path: Path) -> None:
    from greenr.training.model import inference_model
    from greenr.training.saved_model import load_classifier
    from greenr.training.train import _compile

    _compile(classifier, TrainingConfig(), "head", steps_per_epoch=1)  # as training leaves it
    model = inference_model(classifier, flip_averaging=True)
    assert not model.get_layer("classifier").compiled  # no optimizer or metric travels with it
    model.save(tmp_path / "model.keras")
    loaded = load_classifier(tmp_path / "model.keras")
    images = _images(2, seed=4)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), atol=1e-6)


def test_models_saved_with_two_flip_branches_still_load(classifier: Any, tmp_path: Path) -> None:
    """Models saved before the batched flip averaging ran the classifier on two branches."""
    import keras

    from greenr.training.model import inference_model, register_custom_layers
    from greenr.training.saved_model import load_classifier

    register_custom_layers()
    flip = keras.saving.get_registered_object("greenr>HorizontalFlip")
    inputs = keras.Input(shape=classifier.input_shape[1:], name="image")
    direct = classifier(inputs, training=False)
    mirrored = classifier(flip(name="mirror")(inputs), training=False)
    old_style = keras.Model(inputs, keras.layers.Average()([direct, mirrored]), name="greenr_classifier")
    old_style.save(tmp_path / "model.keras")
    loaded = load_classifier(tmp_path / "model.keras")
    images = _images(3, seed=5)
    new_style = inference_model(classifier, flip_averaging=True)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(new_style(images)), atol=1e-6)


# --- augmentation -------------------------------------------------------------------------------


def test_augmentation_keeps_shape_range_and_dtype() -> None:
    from greenr.training.augmentation import build_augmentation

    augmenter = build_augmentation(AugmentationConfig(), seed=0)
    images = _images(6)
    augmented = np.asarray(augmenter(images, training=True))
    assert augmented.shape == images.shape
    assert augmented.dtype == np.float32
    assert augmented.min() >= 0.0
    assert augmented.max() <= 255.0
    assert not np.allclose(augmented, images)
    np.testing.assert_array_equal(np.asarray(augmenter(images, training=False)), images)


def test_augmentation_can_be_switched_off() -> None:
    from greenr.training.augmentation import build_augmentation

    off = AugmentationConfig(
        horizontal_flip=False, zoom=0, translate=0, rotation=0, brightness=0, contrast=0, saturation=0, hue=0
    )
    assert build_augmentation(off, seed=0).layers == []


def test_training_pipeline_yields_augmented_float_batches() -> None:
    from greenr.training.augmentation import build_augmentation
    from greenr.training.train import make_dataset

    arrays = SplitArrays(_images(10).astype(np.uint8), np.array([0, 1] * 5), [str(i) for i in range(10)])
    batches = list(
        make_dataset(arrays, 4, augmenter=build_augmentation(AugmentationConfig(), 0), shuffle_seed=1)
    )
    assert [int(images.shape[0]) for images, _ in batches] == [4, 4, 2]
    images, labels = batches[0]
    assert images.dtype.name == "float32"
    assert labels.shape == (4, 2)  # one-hot for label smoothing


# --- training (tiny, random weights) ------------------------------------------------------------


def test_train_classifier_runs_both_stages_and_keeps_the_best_epoch() -> None:
    from greenr.training.train import train_classifier

    rng = np.random.default_rng(0)
    data = {
        split: SplitArrays(
            rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
            np.arange(n) % 2,
            [f"{split}{i}" for i in range(n)],
        )
        for split, n in (("train", 8), ("validation", 4))
    }
    config = TrainingConfig(image_size=32, batch_size=4, seed=5).model_copy(
        update={
            "head": TrainingConfig().head.model_copy(update={"epochs": 2}),
            "fine_tune": TrainingConfig().fine_tune.model_copy(update={"epochs": 1}),
        }
    )
    seen: list[int] = []
    result = train_classifier(data, config, backbone_weights=None, on_epoch=lambda r: seen.append(r.epoch))

    assert seen == [1, 2, 3]
    assert [r.stage for r in result.history] == ["head", "head", "fine_tune"]
    # The last stage's best epoch is kept, even if a head epoch had a lower validation loss.
    assert result.best_stage == "fine_tune"
    assert result.best.val_loss == min(r.val_loss for r in result.history if r.stage == "fine_tune")
    assert result.seeds == {"python": 5, "numpy": 5, "tensorflow": 5, "keras": 5, "tf_data_shuffle": 5}
    assert result.trainable_layers["head"] == []
    assert "top_conv" in result.trainable_layers["fine_tune"]
    assert np.asarray(result.model(data["validation"].images.astype(np.float32))).shape == (4, 2)
    assert all(0.0 <= r.val_f1 <= 1.0 for r in result.history)


# --- evaluation ---------------------------------------------------------------------------------

# Five images, P(dandelion) per image; worked out by hand:
# predicted [d, d, g, g, d] vs true [d, d, d, g, g] -> TP 2, FN 1, FP 1, TN 1.
P_DANDELION = np.array([0.95, 0.65, 0.35, 0.25, 0.75])
TRUTH = np.array([0, 0, 0, 1, 1])


def _report() -> EvaluationReport:
    probabilities = np.stack([P_DANDELION, 1 - P_DANDELION], axis=1)
    return report_from_probabilities(probabilities, TRUTH, LABELS, [f"img{i}" for i in range(5)])


def test_metrics_match_hand_computed_values() -> None:
    report = _report()
    assert report.positive_label == "dandelion"
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)
    assert report.f1 == pytest.approx(2 / 3)
    assert report.confusion_matrix == [[2, 1], [1, 1]]
    # Dandelion scores (0.95, 0.65, 0.35) beat grass scores (0.25, 0.75) in 4 of 6 pairs.
    assert report.roc_auc == pytest.approx(4 / 6)
    # Confidences 0.95 (right) | 0.65, 0.65 (right, wrong) | 0.75, 0.75 (right, wrong):
    # 1/5 * |1 - 0.95| + 2/5 * |0.5 - 0.65| + 2/5 * |0.5 - 0.75| = 0.01 + 0.06 + 0.10
    assert report.ece == pytest.approx(0.17, abs=1e-6)
    assert [b.count for b in report.calibration] == [0, 0, 0, 0, 0, 0, 2, 2, 0, 1]
    assert report.misclassified.tolist() == [2, 4]
    assert report.predictions()[2] == {
        "sha256": "img2",
        "label": "dandelion",
        "predicted": "grass",
        "p_dandelion": pytest.approx(0.35),
        "p_grass": pytest.approx(0.65),
    }
    assert report.metrics("test_")["test_errors"] == 2.0


def test_roc_auc_edge_cases() -> None:
    assert roc_auc(np.array([True, False, True, False]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(np.array([True, True, False]), np.array([0.9, 0.8, 0.1])) == 1.0
    assert math.isnan(roc_auc(np.array([True, True]), np.array([0.9, 0.8])))


def test_perfect_predictions() -> None:
    probabilities = np.array([[0.99, 0.01], [0.02, 0.98]])
    report = report_from_probabilities(probabilities, np.array([0, 1]), LABELS)
    assert (report.accuracy, report.f1, report.roc_auc) == (1.0, 1.0, 1.0)
    assert report.ece == pytest.approx(0.015)
    assert report.misclassified.size == 0


def test_plots_are_written(tmp_path: Path) -> None:
    report = _report()
    images = np.random.default_rng(0).integers(0, 256, size=(5, 24, 24, 3), dtype=np.uint8)
    paths = [
        write_confusion_matrix_png(report, tmp_path / "confusion.png"),
        write_reliability_png(report, tmp_path / "reliability.png"),
        write_misclassified_grid_png(report, images, tmp_path / "plots" / "misclassified.png"),
    ]
    perfect = report_from_probabilities(np.array([[0.9, 0.1]]), np.array([0]), LABELS)
    paths.append(write_misclassified_grid_png(perfect, images[:1], tmp_path / "none.png"))
    for path in paths:
        assert path.read_bytes().startswith(PNG_MAGIC)


def test_evaluate_uses_the_model(classifier: Any) -> None:
    from greenr.training.evaluation import evaluate, predict_probabilities

    images = _images(5, seed=2).astype(np.uint8)
    arrays = SplitArrays(images, np.array([0, 1, 0, 1, 0]), [f"s{i}" for i in range(5)])
    report = evaluate(classifier, arrays, LABELS)
    expected = np.asarray(classifier(images.astype(np.float32), training=False))
    np.testing.assert_allclose(report.probabilities, expected, rtol=1e-5, atol=1e-6)
    assert predict_probabilities(classifier, images[:1]).shape == (1, 2)
    assert report.n == 5
