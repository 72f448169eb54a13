"""Keep a stage's k best epochs (by validation loss) and average their weights.

Checkpoint averaging: the mean of several nearby weights on one training trajectory tends to sit
in a flatter region of the loss than any one of them, the idea behind stochastic weight averaging
(Izmailov et al. 2018, https://arxiv.org/abs/1803.05407). Here the epochs are the k with the lowest
validation loss, not a schedule's last ones. Plain numpy, so it is tested without Keras.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Weights = list[np.ndarray[Any, Any]]  # keras.Model.get_weights() order


@dataclass(frozen=True)
class Checkpoint:
    """One epoch's weights (host copies) and the validation loss they scored."""

    epoch: int
    val_loss: float
    weights: Weights


def _rank(checkpoint: Checkpoint) -> tuple[float, int]:
    # Ties go to the earlier epoch, as a strict "improved" comparison keeps the first minimum.
    return (checkpoint.val_loss, checkpoint.epoch)


def belongs_among_best(kept: Sequence[Checkpoint], val_loss: float, k: int) -> bool:
    """Whether an epoch scoring `val_loss` enters the `k` best (`kept` is best first, at most k).

    A NaN or +inf loss never does, so that k=1 keeps exactly what "val_loss < the best so far,
    starting from infinity" kept.
    """
    worst_kept = kept[-1].val_loss if len(kept) >= k else math.inf
    return val_loss < worst_kept


def keep_best(kept: Sequence[Checkpoint], checkpoint: Checkpoint, k: int) -> list[Checkpoint]:
    """`kept` with `checkpoint` added, best first, cut to `k`: at most k weight copies stay alive."""
    return sorted([*kept, checkpoint], key=_rank)[:k]


def average_of_best(checkpoints: Sequence[Checkpoint], k: int) -> tuple[Weights, list[int]]:
    """The element-wise mean of the `k` best checkpoints' weights, and their epochs, best first.

    With fewer than k checkpoints (early stopping, a short stage) all of them are averaged. k=1
    returns the best checkpoint's arrays themselves, so it changes nothing. Floating-point weights
    are summed in float64 and cast back to their dtype; any other weight (an integer counter has
    no meaningful mean) is the best checkpoint's.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not checkpoints:
        raise ValueError("no checkpoint to average: no epoch had a finite validation loss")
    chosen = sorted(checkpoints, key=_rank)[:k]
    best = chosen[0]
    if len(chosen) == 1:
        return best.weights, [best.epoch]
    for checkpoint in chosen[1:]:
        shapes = [w.shape for w in checkpoint.weights]
        if shapes != [w.shape for w in best.weights]:
            raise ValueError(f"epoch {checkpoint.epoch}'s weights do not match epoch {best.epoch}'s")
    averaged: Weights = []
    for index, reference in enumerate(best.weights):
        if not np.issubdtype(reference.dtype, np.floating):
            averaged.append(reference)
            continue
        total = np.zeros(reference.shape, dtype=np.float64)
        for checkpoint in chosen:
            total += checkpoint.weights[index]
        averaged.append((total / len(chosen)).astype(reference.dtype))
    return averaged, [checkpoint.epoch for checkpoint in chosen]
