"""The open-set scorer: fitted on clusters, far points score higher; the file round-trips."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from greenr.open_set.scorer import (
    METHODS,
    OpenSetError,
    OpenSetScorer,
    fit_scorer,
    scorer_from_json,
    scorer_to_json,
    threshold_at_quantile,
)


def clusters(rng: np.random.Generator, n: int = 60, d: int = 32) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Two classes around two directions, like pooled features of two kinds of photo."""
    centres = np.zeros((2, d))
    centres[0, 0], centres[1, 1] = 5.0, 5.0
    labels = ["dandelion"] * (n // 2) + ["grass"] * (n // 2)
    data = np.stack([centres[0 if label == "dandelion" else 1] for label in labels])
    return data + rng.normal(0, 0.5, data.shape), labels


@pytest.mark.parametrize("method", ["mahalanobis", "knn"])
def test_far_photos_score_higher_than_near_ones(method: str) -> None:
    rng = np.random.default_rng(0)
    train, labels = clusters(rng)
    scorer = fit_scorer(method, train, labels, components=8)
    near, _ = clusters(rng, 20)
    far = rng.normal(0, 0.5, (20, 32))
    far[:, 2] += 5.0  # a third direction: neither class
    probabilities = np.full((20, 2), 0.5)
    assert scorer.scores(far, probabilities).min() > scorer.scores(near, probabilities).max()


def test_max_probability_scores_uncertain_answers_higher() -> None:
    scorer = fit_scorer("max_probability", np.ones((4, 3)), ["dandelion", "grass"] * 2)
    scores = scorer.scores(None, np.array([[0.99, 0.01], [0.55, 0.45]]))
    assert scores[1] > scores[0]


def test_the_threshold_rejects_the_validation_tail() -> None:
    scores = np.arange(100, dtype=float)
    threshold = threshold_at_quantile(scores, 0.98)
    rejected = fit_scorer("max_probability", np.ones((2, 2)), ["a", "b"]).with_threshold(threshold, {})
    assert int(rejected.rejected(scores).sum()) == 1


def outside(rng: np.random.Generator, direction: int, n: int = 20, d: int = 32) -> npt.NDArray[np.float64]:
    """Pictures of neither class: around another direction of the feature space."""
    data = rng.normal(0, 0.5, (n, d))
    data[:, direction] += 5.0
    return data


@pytest.mark.parametrize("method", METHODS)
def test_the_file_round_trips(method: str) -> None:
    rng = np.random.default_rng(1)
    train, labels = clusters(rng)
    negatives = outside(rng, 2)
    scorer = fit_scorer(method, train, labels, components=8, k=3, negatives=negatives).with_threshold(
        1.5, {"quantile": 0.98}
    )
    read = scorer_from_json(scorer_to_json(scorer))
    assert (read.method, read.threshold, dict(read.calibration)) == (method, 1.5, {"quantile": 0.98})
    probabilities = np.tile([0.7, 0.3], (5, 1))
    np.testing.assert_allclose(
        read.scores(train[:5], probabilities), scorer.scores(train[:5], probabilities), rtol=1e-5
    )


def test_an_uncalibrated_scorer_rejects_nothing_after_a_round_trip() -> None:
    scorer = scorer_from_json(scorer_to_json(fit_scorer("max_probability", np.ones((2, 2)), ["a", "b"])))
    assert not scorer.rejected([1e30]).any()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"format": "other"}',
        '{"format": "greenr-open-set", "format_version": 1, "method": "magic"}',
    ],
)
def test_a_bad_file_is_a_clear_error(text: str) -> None:
    with pytest.raises(OpenSetError):
        scorer_from_json(text)


def test_embeddings_of_another_model_are_refused() -> None:
    rng = np.random.default_rng(2)
    train, labels = clusters(rng)
    scorer = fit_scorer("knn", train, labels)
    with pytest.raises(OpenSetError, match="fitted on 32"):
        scorer.scores(np.ones((1, 8)), np.ones((1, 2)) / 2)


def test_the_answers_are_the_classes_and_neither() -> None:
    from greenr.contracts import ANSWERS, LABELS
    from greenr.open_set.scorer import NEITHER

    assert (*LABELS, NEITHER) == ANSWERS


@pytest.mark.parametrize("k", [0, 5])
def test_outlier_exposure_scores_pictures_like_its_negatives_above_in_domain_ones(k: int) -> None:
    rng = np.random.default_rng(3)
    train, labels = clusters(rng)
    scorer = fit_scorer("outlier_exposure", train, labels, negatives=outside(rng, 2), k=k)
    near, _ = clusters(rng, 20)
    probabilities = np.full((20, 2), 0.5)
    assert scorer.scores(outside(rng, 2), probabilities).min() > scorer.scores(near, probabilities).max()


def test_outlier_exposure_with_the_knn_feature_also_flags_what_no_negative_resembles() -> None:
    rng = np.random.default_rng(4)
    train, labels = clusters(rng)
    scorer = fit_scorer("outlier_exposure", train, labels, negatives=outside(rng, 2), k=5)
    near, _ = clusters(rng, 20)
    probabilities = np.full((20, 2), 0.5)
    # Direction 3: unlike the train photos and unlike every negative.
    unseen = scorer.scores(outside(rng, 3), probabilities)
    assert unseen.min() > scorer.scores(near, probabilities).max()
    assert scorer.arrays["intercept"][1] > 0  # farther from the train photos: less in domain


def test_outlier_exposure_is_deterministic() -> None:
    rng = np.random.default_rng(5)
    train, labels = clusters(rng)
    negatives = outside(rng, 2)
    first = fit_scorer("outlier_exposure", train, labels, negatives=negatives, k=3)
    second = fit_scorer("outlier_exposure", train, labels, negatives=negatives, k=3)
    np.testing.assert_array_equal(first.arrays["weights"], second.arrays["weights"])


@pytest.mark.parametrize("negatives", [None, np.ones((0, 32)), np.ones((3, 8))])
def test_outlier_exposure_without_fitting_negatives_is_a_clear_error(
    negatives: npt.NDArray[np.float64] | None,
) -> None:
    train, labels = clusters(np.random.default_rng(6))
    with pytest.raises(OpenSetError, match="out-of-domain development pictures"):
        fit_scorer("outlier_exposure", train, labels, negatives=negatives)


def test_an_open_set_file_missing_what_its_method_needs_is_refused() -> None:
    rng = np.random.default_rng(7)
    train, labels = clusters(rng)
    scorer = fit_scorer("outlier_exposure", train, labels, negatives=outside(rng, 2), k=3)
    for missing in ("weights", "bank"):
        partial = OpenSetScorer(
            method=scorer.method,
            threshold=1.0,
            arrays={name: array for name, array in scorer.arrays.items() if name != missing},
            options=scorer.options,
        )
        with pytest.raises(OpenSetError, match=f"lacks {missing}"):
            scorer_from_json(scorer_to_json(partial))
