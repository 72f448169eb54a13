"""A trained model checks its ONNX bytes against its summary and runs them with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from trained_model_kit import summary_for, tiny_onnx_model, trained_model

from greenr.training.trained_model import TrainedModel


def test_onnx_bytes_that_do_not_match_the_summary_are_refused() -> None:
    onnx = tiny_onnx_model(8)
    with pytest.raises(ValueError, match="the artifact is corrupt; train again"):
        TrainedModel(summary=summary_for(onnx), onnx=onnx + b"\0", keras=b"")


def test_the_onnx_model_runs(tmp_path: Path) -> None:
    model = trained_model()
    images = np.zeros((3, 8, 8, 3), dtype=np.float32)
    images[0, ..., 0] = 255.0  # red: the tiny model's class 0
    images[1, ..., 1] = 255.0  # green: class 1
    classifier = model.onnx_classifier(tmp_path)
    probabilities = classifier.predict(images)
    assert classifier.input_size == 8
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert probabilities[0].argmax() == 0
    assert probabilities[1].argmax() == 1
    np.testing.assert_allclose(probabilities[2], [0.5, 0.5], atol=1e-6)


def test_the_bytes_stay_out_of_its_repr() -> None:
    assert "keras bytes" not in repr(trained_model())
