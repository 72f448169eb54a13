"""The pooled threshold: cross-fitted train scores, matched to the validation scores, pooled."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from greenr.open_set.calibration import (
    fold_assignment,
    matched_to,
    out_of_fold_scores,
    pooled_threshold,
)
from greenr.open_set.scorer import OpenSetError, OpenSetScorer, fit_scorer


def test_every_photo_gets_one_fold_the_folds_are_even_and_fixed() -> None:
    assignment = fold_assignment(23, 5)
    assert sorted(np.bincount(assignment)) == [4, 4, 5, 5, 5]
    assert list(assignment) == list(fold_assignment(23, 5))
    assert list(assignment) != sorted(assignment)  # shuffled, not blocks of neighbours
    with pytest.raises(OpenSetError, match=r"2\.\.3 folds for 3 train photos, got 4"):
        fold_assignment(3, 4)


def test_each_photo_is_scored_by_a_scorer_not_fitted_on_it() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1, (20, 8)) + 3.0
    labels = ["dandelion", "grass"] * 10
    fitted_rows: list[set[int]] = []

    def fit(rows: npt.NDArray[np.int64]) -> OpenSetScorer:
        fitted_rows.append({int(r) for r in rows})
        return fit_scorer("knn", data[rows], [labels[i] for i in rows], k=1)

    scores = out_of_fold_scores(fit, data, np.full((20, 2), 0.5), folds=4)
    assert len(fitted_rows) == 4
    assignment = fold_assignment(20, 4)
    for fold, rows in enumerate(fitted_rows):
        assert not rows & set(np.flatnonzero(assignment == fold))
    # In-sample, a photo's nearest train photo is itself (distance 0); out of fold it never is.
    in_sample = fit_scorer("knn", data, labels, k=1).scores(data, np.full((20, 2), 0.5))
    assert np.allclose(in_sample, 0.0, atol=1e-9)
    assert scores.min() > 1e-6


def _mad(values: npt.NDArray[np.float64]) -> float:
    return float(np.median(np.abs(values - np.median(values))))


def test_matching_moves_median_and_spread_and_keeps_the_order() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(5.0, 2.0, 61)
    scores = rng.normal(-1.0, 0.3, 200)
    matched = matched_to(reference, scores)
    assert np.median(matched) == pytest.approx(np.median(reference))
    assert _mad(matched) == pytest.approx(_mad(reference))
    assert list(np.argsort(matched)) == list(np.argsort(scores))
    # Constant scores cannot be scaled: only moved.
    assert np.allclose(matched_to(reference, np.ones(4)), np.median(reference))


def test_the_pooled_threshold_stands_on_more_photos_than_the_validation_maximum() -> None:
    rng = np.random.default_rng(2)
    # A heavy upper tail: one validation photo far above the rest.
    validation = np.concatenate([rng.normal(0, 1, 59), [9.0]])
    train = rng.normal(0, 1, 280)
    pooled = pooled_threshold(validation, train, 0.99)
    alone = float(np.quantile(validation, 0.99, method="higher"))
    assert alone == 9.0
    assert pooled < alone
    everything = np.concatenate([validation, matched_to(validation, train)])
    assert (everything > pooled).mean() <= 0.01
    with pytest.raises(OpenSetError, match="no validation scores"):
        pooled_threshold([], train, 0.99)
