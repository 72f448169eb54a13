"""The open-set benchmark's choice: a method that learns from the development flowers is judged on
flowers it was not fitted on, and the held-out synthetic pictures are not the ones training makes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.open_set_benchmark import (
    CALIBRATION_FOLDS,
    DEFAULT_OUTPUT,
    DERIVED,
    OUTSIDE_SOURCES,
    QUANTILES,
    VARIANTS,
    Outputs,
    PerClassScorer,
    _generated,
    calibrated_variant,
    choose,
    configured_variant,
    cross_validated_development,
    development_folds,
    features_for,
    fit_variant,
    measure_variant,
)
from benchmarks.open_set_blocks import concatenate_unit_groups
from benchmarks.open_set_pictures import synthetic_photos
from greenr.contracts import LABELS
from greenr.open_set.scorer import fit_scorer
from greenr.open_set.synthetic_negatives import synthetic_negatives
from greenr.training.config import OpenSetConfig, load_training_config
from greenr.training.open_set import calibrate_scorer


def _group(
    rng: np.random.Generator,
    n: int,
    direction: int,
    labelled: bool = False,
    block_direction: int | None = None,
) -> Outputs:
    """Pictures whose embeddings point along `direction` and whose blocks features along
    `block_direction` (default: `direction`)."""
    embeddings = np.abs(rng.normal(0, 1, (n, 16)))
    embeddings[:, direction] += 4
    blocks = np.abs(rng.normal(0, 1, (n, 24)))
    blocks[:, direction if block_direction is None else block_direction] += 4
    probabilities = rng.dirichlet([1, 1], n)
    return Outputs(
        embeddings.astype(np.float32),
        probabilities.astype(np.float32),
        rng.integers(0, 2, n) if labelled else None,
        blocks.astype(np.float32),
    )


def _splits(rng: np.random.Generator, train: int = 80) -> dict[str, Outputs]:
    """Labelled in-domain train, validation and test groups, all along direction 0."""
    return {
        split: _group(rng, n, 0, labelled=True)
        for split, n in (("train", train), ("validation", 40), ("test", 40))
    }


def _groups(seed: int) -> dict[str, Outputs]:
    rng = np.random.default_rng(seed)
    groups = _splits(rng)
    for name in (*OUTSIDE_SOURCES, "synthetic_training", "derived_training"):
        groups[name] = _group(rng, 12, 1)
    return groups


def test_the_development_folds_split_every_flower_kind_and_share_no_photo() -> None:
    rows = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 4), dtype=np.float32)
    first, second = development_folds(Outputs(rows, np.ones((12, 2), dtype=np.float32), None))
    assert list(first.embeddings[:, 0]) == [0, 2, 4, 6, 8, 10]
    assert list(second.embeddings[:, 0]) == [1, 3, 5, 7, 9, 11]


def test_outlier_exposure_is_judged_by_cross_validation_and_the_choice_respects_the_refusal_target() -> None:
    runs = []
    for seed in (1, 2):
        groups = _groups(seed)
        variants = {variant.name: measure_variant(variant, groups) for variant in VARIANTS}
        runs.append({"variants": variants})
        oe = next(v for v in VARIANTS if v.method == "outlier_exposure")
        cross = cross_validated_development(oe, groups)
        assert set(cross["flagged"]) == {str(q) for q in QUANTILES}
        assert all(0 <= value <= 1 for value in cross["flagged"].values())
        assert variants[oe.name]["development_cross_validated"] == cross
    choice = choose(runs)
    quantile = str(choice["quantile"])
    refusals = [
        run["variants"][choice["variant"]]["quantiles"][quantile]["in_domain_refusal_rate"] for run in runs
    ]
    assert float(np.mean(refusals)) <= 0.02
    assert "development_flag_rate_cross_validated" in choice


def test_a_far_variant_learns_the_far_development_half_and_every_variant_is_judged_on_it() -> None:
    """Far-domain pictures unlike the flowers: the +far variant flags the held-out far half, its
    twin (flowers and generated pictures only) does not, and the choice's cross-validated
    development figure counts the far development pictures for both."""
    rng = np.random.default_rng(11)
    groups = _splits(rng)
    for name in (
        "neither_development",
        "neither_held_out",
        "synthetic",
        "synthetic_training",
        "derived_training",
    ):
        groups[name] = _group(rng, 12, 1)
    # Far pictures: in-domain direction with a twist only the far negatives teach.
    for name in ("far_development", "far_held_out"):
        far = _group(rng, 12, 0)
        embeddings = far.embeddings.copy()
        embeddings[:, 2] += 3
        groups[name] = Outputs(embeddings, far.probabilities, None, far.blocks)
    with_far = next(v for v in VARIANTS if v.name == "oe k0 p0.001 +far")
    without = next(v for v in VARIANTS if v.name == "oe k0 p0.001")
    measured = {
        v.name: measure_variant(v, groups)["quantiles"]["0.99"]["flagged"] for v in (with_far, without)
    }
    assert measured[with_far.name]["far_held_out"] > measured[without.name]["far_held_out"] + 0.3
    crossed = {v.name: cross_validated_development(v, groups)["flagged"]["0.99"] for v in (with_far, without)}
    assert crossed[with_far.name] > crossed[without.name]
    assert (
        configured_variant(
            OpenSetConfig(
                method="outlier_exposure", k=0, penalty=0.001, quantile=0.99, far_domain_negatives=True
            )
        )[0]
        is with_far
    )


def test_the_held_out_synthetic_pictures_are_not_the_generated_training_negatives() -> None:
    config = OpenSetConfig()
    generated = set(synthetic_negatives(config.synthetic_negatives, config.negatives_seed))
    assert not generated & {photo.data for photo in synthetic_photos()}


def test_a_pooled_variant_calibrates_as_training_does_and_more_negatives_come_from_the_config() -> None:
    groups = _groups(3)
    pooled = next(v for v in VARIANTS if v.calibration == "pooled")
    negatives = [groups["synthetic_training"], groups["neither_development"]]
    scorer, thresholds = calibrated_variant(pooled, groups["train"], negatives, groups["validation"])
    validation = scorer.scores(groups["validation"].embeddings, groups["validation"].probabilities)
    config = OpenSetConfig(
        method="outlier_exposure",
        k=int(pooled.options["k"]),
        penalty=pooled.options["penalty"],
        quantile=0.95,
        calibration="pooled",
        calibration_folds=CALIBRATION_FOLDS,
    )
    train = groups["train"]
    assert train.labels is not None
    trained = calibrate_scorer(
        config,
        train.embeddings,
        [LABELS[i] for i in train.labels],
        groups["validation"].embeddings,
        groups["validation"].probabilities,
        np.concatenate([group.embeddings for group in negatives]),
        train.probabilities,
    )
    assert thresholds["0.95"] == pytest.approx(trained.threshold)
    # The train photos' scores moved the threshold (validation alone gives another one).
    alone = {str(q): float(np.quantile(validation, q, method="higher")) for q in QUANTILES}
    assert any(thresholds[q] != pytest.approx(alone[q]) for q in alone)
    more = next(v for v in VARIANTS if v.more_negatives)
    learned = _generated(more, groups).embeddings
    assert np.array_equal(
        learned, np.concatenate([groups[g].embeddings for g in ("synthetic_training", "derived_training")])
    )
    assert _generated(pooled, groups) is groups["synthetic_training"]


def test_the_configured_open_set_is_a_variant_the_committed_results_measured() -> None:
    """configs/training.yaml's open_set need not be the rule's choice (README "Open-set rejection"
    says which is configured and why), but it must be measured: the README's figures for it come
    from the results file."""
    variant, quantile = configured_variant(load_training_config().open_set)
    results = json.loads(DEFAULT_OUTPUT.read_text())
    for run in results["runs"]:
        assert str(quantile) in run["variants"][variant.name]["quantiles"]


def test_the_configured_variant_is_found_by_every_setting_and_an_unmeasured_one_is_refused() -> None:
    pooled = OpenSetConfig(
        method="outlier_exposure", k=20, penalty=0.001, quantile=0.98, calibration="pooled"
    )
    assert configured_variant(pooled) == (next(v for v in VARIANTS if v.name == "oe k20 p0.001 pooled"), 0.98)
    derived = pooled.model_copy(update={"derived_negatives": DERIVED})
    assert configured_variant(derived)[0].name == "oe k20 p0.001 pooled +derived"
    assert configured_variant(OpenSetConfig(method="knn", k=5, quantile=1.0))[0].name == "knn k5"
    for unmeasured in (
        pooled.model_copy(update={"k": 3}),
        pooled.model_copy(update={"quantile": 0.9}),
        pooled.model_copy(update={"derived_negatives": 7}),
        pooled.model_copy(update={"calibration_folds": CALIBRATION_FOLDS + 1}),
    ):
        with pytest.raises(ValueError, match="measures no variant like the configured"):
            configured_variant(unmeasured)


def test_a_per_class_variant_scores_each_photo_against_the_class_the_model_predicts() -> None:
    groups = _groups(4)
    train, test = groups["train"], groups["test"]
    assert train.labels is not None
    per_class = next(v for v in VARIANTS if v.per_class and v.options["k"] > 0)
    negatives = [groups["synthetic_training"], groups["neither_development"]]
    scorer = fit_variant(per_class, train, negatives)
    assert isinstance(scorer, PerClassScorer)
    scores = scorer.scores(test.embeddings, test.probabilities)
    predicted = test.probabilities.argmax(axis=1)
    assert 0 < predicted.sum() < len(predicted)  # both classes are predicted here
    for index, label in enumerate(LABELS):
        rows = train.labels == index
        alone = fit_scorer(
            "outlier_exposure",
            train.embeddings[rows],
            [label] * int(rows.sum()),
            k=int(per_class.options["k"]),
            penalty=per_class.options["penalty"],
            negatives=np.concatenate([group.embeddings for group in negatives]),
        )
        expected = alone.scores(test.embeddings, test.probabilities)
        assert np.allclose(scores[predicted == index], expected[predicted == index])
    # Training cannot fit a per-class score: no configuration names one.
    config = OpenSetConfig(method="outlier_exposure", k=20, penalty=0.001, quantile=0.99)
    assert not configured_variant(config)[0].per_class


def test_the_blocks_features_weigh_each_group_alike_and_keep_rows_at_unit_length() -> None:
    narrow = np.array([[3.0, 4.0], [0.0, 0.0]])
    wide = np.array([[1.0] * 8, [2.0] * 8])
    joined = concatenate_unit_groups([narrow, wide])
    assert joined.shape == (2, 10)
    assert np.isclose(np.linalg.norm(joined[0]), 1.0)
    # Each group holds half of the row's squared length, whatever its width.
    assert np.isclose(np.linalg.norm(joined[0, :2]) ** 2, 0.5)
    assert np.isclose(np.linalg.norm(joined[0, 2:]) ** 2, 0.5)
    assert np.allclose(joined[1, :2], 0.0)  # a zero row stays zero, no division by zero
    with pytest.raises(ValueError, match="differ in rows"):
        concatenate_unit_groups([narrow, wide[:1]])
    with pytest.raises(ValueError, match="no feature group"):
        concatenate_unit_groups([])


def test_a_blocks_variant_scores_the_blocks_features_and_none_is_configurable() -> None:
    """Flowers that the embedding cannot tell from in-domain photos but the blocks features can:
    the blocks variant flags them, its embedding twin does not."""
    rng = np.random.default_rng(5)
    groups = _splits(rng, train=60)
    for name in (*OUTSIDE_SOURCES, "synthetic_training"):
        groups[name] = _group(rng, 12, 0, block_direction=1)  # in-domain embedding, other blocks
    groups["derived_training"] = _group(rng, 12, 1)
    blocks = next(v for v in VARIANTS if v.name == "knn k20 blocks")
    embedding = next(v for v in VARIANTS if v.name == "knn k20")
    with_blocks = measure_variant(blocks, groups)["quantiles"]["0.99"]["held_out_flagged"]
    without = measure_variant(embedding, groups)["quantiles"]["0.99"]["held_out_flagged"]
    assert with_blocks > 0.9
    assert without < 0.5
    view = features_for(blocks, groups)
    assert view["train"].embeddings is groups["train"].blocks
    assert features_for(embedding, groups) is groups
    groups["far_held_out"] = Outputs(
        groups["far_held_out"].embeddings, groups["far_held_out"].probabilities, None
    )
    with pytest.raises(ValueError, match="far_held_out lacks"):
        features_for(blocks, groups)
    # Training fits on the served embedding: a configuration always names an embedding variant.
    assert configured_variant(OpenSetConfig(method="knn", k=20, quantile=0.99))[0] is embedding
