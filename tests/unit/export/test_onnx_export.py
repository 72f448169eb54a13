"""ONNX export of a Keras model: same probabilities, variable batch, parity enforced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from greenr.export.onnx_export import ExportParityError, export_and_check
from greenr.export.onnx_runtime import OnnxClassifier


def tiny_classifier() -> object:
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_export_matches_keras_with_any_batch_size(tmp_path: Path) -> None:
    model = tiny_classifier()
    images = np.random.default_rng(0).integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    result = export_and_check(model, tmp_path / "model.onnx", images)
    assert result.max_abs_diff < 1e-5
    assert len(result.sha256) == 64
    runner = OnnxClassifier(result.path)
    for n in (1, 3):
        probabilities = runner.predict(images[:n].astype(np.float32))
        assert probabilities.shape == (n, 2)
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_parity_is_enforced(tmp_path: Path) -> None:
    images = np.random.default_rng(1).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    # A negative tolerance cannot be met by any difference, not even 0: the check must refuse.
    with pytest.raises(ExportParityError, match="differs from the Keras model"):
        export_and_check(tiny_classifier(), tmp_path / "model.onnx", images, tolerance=-1.0)


def tiny_two_output_model() -> object:
    """Probabilities and the pooled features, like the served classifier's graph."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    pooled = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(pooled)
    return keras.Model(inputs, [outputs, pooled])


def test_a_second_embedding_output_is_exported_and_checked(tmp_path: Path) -> None:
    model = tiny_two_output_model()
    images = np.random.default_rng(2).integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    result = export_and_check(model, tmp_path / "model.onnx", images)
    assert result.embedding_max_rel_diff is not None
    assert result.embedding_max_rel_diff < 1e-5
    runner = OnnxClassifier(result.path)
    assert runner.output_count == 2
    probabilities, embedding = runner.outputs(images[:3].astype(np.float32))
    assert probabilities.shape == (3, 2)
    assert embedding.shape == (3, 4)
    np.testing.assert_allclose(runner.predict(images[:3].astype(np.float32)), probabilities)


def test_a_one_output_model_has_no_embedding_parity(tmp_path: Path) -> None:
    images = np.random.default_rng(3).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    assert export_and_check(tiny_classifier(), tmp_path / "model.onnx", images).embedding_max_rel_diff is None
