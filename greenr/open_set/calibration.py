"""Where the open-set threshold sits: estimated from more in-domain scores than the validation split's.

With 60 validation photos, "refuse about 1.5 % of in-domain photos" is the largest validation
score or the second largest: the threshold jumps with one photo. Pooling gives the quantile more
photos to stand on: every train photo is scored by a scorer fitted without it (cross-fitting,
`out_of_fold_scores`), so its score is what an unseen photo of the train split would get. Those
scores are still too low: the classifier's backbone was fine-tuned on the train photos, so their
embeddings sit closer to each other than a new photo's do. `matched_to` moves them onto the
validation scores' median and spread (median absolute deviation), which the backbone never saw,
before they are pooled with the validation scores (`pooled_threshold`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from greenr.open_set.scorer import FloatArray, OpenSetError

CALIBRATIONS: Final = ("validation", "pooled")
"""`validation`: the validation scores' quantile; `pooled`: validation plus the matched
out-of-fold train scores."""


class Scores(Protocol):
    """A fitted score (greenr.open_set.scorer.OpenSetScorer, or a benchmark's own)."""

    def scores(self, embeddings: npt.ArrayLike | None, probabilities: npt.ArrayLike) -> FloatArray: ...


FOLD_SEED: Final = 0
"""Which train photos share a fold (fixed: the threshold must not change with anything else)."""


def fold_assignment(count: int, folds: int) -> npt.NDArray[np.int64]:
    """The fold (0..folds-1) of each of `count` photos: a seeded shuffle dealt round-robin.

    Raises:
        OpenSetError: fewer than 2 folds, or more folds than photos.
    """
    if not 2 <= folds <= count:
        raise OpenSetError(f"cross-fitting needs 2..{count} folds for {count} train photos, got {folds}")
    order = np.random.default_rng(FOLD_SEED).permutation(count)
    assignment = np.empty(count, dtype=np.int64)
    assignment[order] = np.arange(count) % folds
    return assignment


def out_of_fold_scores(
    fit: Callable[[npt.NDArray[np.int64]], Scores],
    embeddings: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    folds: int,
) -> FloatArray:
    """Each photo's score from a scorer fitted without its fold; `fit(rows)` fits on those rows."""
    data = np.asarray(embeddings, dtype=np.float64)
    probs = np.asarray(probabilities, dtype=np.float64)
    assignment = fold_assignment(len(data), folds)
    scores = np.empty(len(data))
    for fold in range(folds):
        held = assignment == fold
        scorer = fit(np.flatnonzero(~held))
        scores[held] = scorer.scores(data[held], probs[held])
    return scores


def _spread(values: FloatArray) -> float:
    """Median absolute deviation (robust: a few outlying photos barely move it)."""
    return float(np.median(np.abs(values - np.median(values))))


def matched_to(reference: npt.ArrayLike, scores: npt.ArrayLike) -> FloatArray:
    """`scores` shifted and scaled so their median and median absolute deviation are the
    reference's (the ranks among `scores` are kept)."""
    target = np.asarray(reference, dtype=np.float64)
    values = np.asarray(scores, dtype=np.float64)
    spread = _spread(values)
    scale = _spread(target) / spread if spread > 0 else 1.0
    result: FloatArray = (values - np.median(values)) * scale + np.median(target)
    return result


def pooled_threshold(
    validation_scores: npt.ArrayLike, train_out_of_fold: npt.ArrayLike, quantile: float
) -> float:
    """The score below which `quantile` of the validation scores and the matched out-of-fold train
    scores fall together."""
    validation = np.asarray(validation_scores, dtype=np.float64)
    if validation.size == 0:
        raise OpenSetError("no validation scores to calibrate the threshold on")
    pooled = np.concatenate([validation, matched_to(validation, train_out_of_fold)])
    return float(np.quantile(pooled, quantile, method="higher"))
