"""The training loss: cross-entropy with label smoothing, focal when `focal_gamma` > 0 (issue 11
candidate). Values checked against the formulas on hand-made probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greenr.training.config import TrainingConfig
from greenr.training.train import training_loss

TRUE = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
# One confident right answer (0.9 on the label) and one hard photo (0.4 on the label).
PREDICTED = np.array([[0.9, 0.1], [0.6, 0.4]], dtype="float32")


def _loss(config: TrainingConfig) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(training_loss(config)(TRUE, PREDICTED)))


def test_gamma_0_is_the_smoothed_cross_entropy() -> None:
    config = TrainingConfig(label_smoothing=0.1, focal_gamma=0.0)
    # Smoothing 0.1 over 2 classes: targets 0.95 / 0.05.
    expected = np.mean(
        [
            -(0.95 * math.log(0.9) + 0.05 * math.log(0.1)),
            -(0.05 * math.log(0.6) + 0.95 * math.log(0.4)),
        ]
    )
    assert _loss(config) == pytest.approx(expected, rel=1e-5)


def test_focal_weighs_each_class_term_by_one_minus_its_probability_to_the_gamma() -> None:
    config = TrainingConfig(label_smoothing=0.0, focal_gamma=2.0)
    expected = np.mean([-(0.1**2) * math.log(0.9), -(0.6**2) * math.log(0.4)])
    assert _loss(config) == pytest.approx(expected, rel=1e-5)


def test_a_negative_gamma_is_refused() -> None:
    with pytest.raises(ValueError, match="focal_gamma"):
        TrainingConfig(focal_gamma=-1.0)
