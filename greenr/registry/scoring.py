"""The scores the promotion gate compares, computed from probabilities on one test split."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from greenr.contracts import POSITIVE_CLASS_INDEX

Z95: Final = 1.959963984540054
"""The normal quantile of a two-sided 95 % interval."""


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (nan, nan) without trials."""
    if trials <= 0:
        return math.nan, math.nan
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


class Scores(BaseModel):
    """Test-split scores of one model; F1 is that of the contract's positive class."""

    accuracy: float
    f1: float
    log_loss: float
    n: int


def score_probabilities(probabilities: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> Scores:
    """Accuracy, F1 of the positive class, and mean log loss of N×2 probabilities against integer labels."""
    if len(labels) == 0:
        raise ValueError("cannot score a model on an empty test split")
    predicted = probabilities.argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    positive = POSITIVE_CLASS_INDEX
    true_positive = int(((predicted == positive) & (labels == positive)).sum())
    predicted_positive = int((predicted == positive).sum())
    actual_positive = int((labels == positive).sum())
    precision = true_positive / predicted_positive if predicted_positive else 0.0
    recall = true_positive / actual_positive if actual_positive else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    chosen = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return Scores(accuracy=accuracy, f1=f1, log_loss=float(-np.log(chosen).mean()), n=len(labels))
