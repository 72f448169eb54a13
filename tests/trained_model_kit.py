"""Trained models for tests without TensorFlow: a tiny ONNX classifier built with onnx.helper
(N×S×S×3 -> mean colour -> 2 classes; optionally the mean colour as a second, embedding output)
and a summary that matches it."""

from __future__ import annotations

import hashlib

import numpy as np

from greenr.containers.stand_in_model import mean_colour_onnx
from greenr.contracts import LABELS
from greenr.training.trained_model import TrainedModel, TrainingSummary


def tiny_onnx_model(size: int = 8, embedding: bool = False) -> bytes:
    """Softmax of the image's mean red and green (scaled): a real graph onnxruntime runs.

    With `embedding`, the mean colour (N×3) is a second output, like the pooled features that
    training exports after the probabilities.
    """
    weights = np.array([[0.05, -0.05], [-0.05, 0.05], [0.0, 0.0]], dtype=np.float32)
    return mean_colour_onnx(size, weights, input_name="input", embedding=embedding)


def summary_for(model_bytes: bytes, **changes: object) -> TrainingSummary:
    """A training summary of the ONNX model `model_bytes` (8 px input), with `changes`."""
    fields: dict[str, object] = {
        "run_id": "run-1",
        "mlflow_run_id": "abc",
        "dataset_version": "ds-1",
        "onnx_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "input_size": 8,
        "labels": list(LABELS),
        "parity_max_abs_diff": 1e-6,
        "history": [{"epoch": 1, "val_accuracy": 0.9, "val_f1": 0.88}],
        "best_epoch": 1,
        "best_stage": "head",
        "wall_seconds": 12.5,
        "seeds": {"python": 1},
        "config": {"image_size": 8},
    }
    return TrainingSummary.model_validate({**fields, **changes})


def trained_model() -> TrainedModel:
    """The tiny model as a trained model (its Keras file is a stand-in: nothing here loads it)."""
    model_bytes = tiny_onnx_model(8)
    return TrainedModel(summary=summary_for(model_bytes), onnx=model_bytes, keras=b"keras bytes")
