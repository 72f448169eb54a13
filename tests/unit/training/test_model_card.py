"""The model card: intervals that are right, and a card that says what a reader needs."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from greenr.contracts import LABELS
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.registry.scoring import wilson_interval
from greenr.training.evaluate_export import EvaluationSummary
from greenr.training.model_card import (
    f1_from_cells,
    f1_interval,
    metrics_table,
    model_card_markdown,
)
from greenr.training.open_set import OpenSetSummary
from greenr.training.registration import RegisteredModel
from greenr.training.trained_model import TrainingSummary

# 60 test photos: 29 of 30 dandelions found, 2 grass photos called dandelion.
CONFUSION = [[29, 1], [2, 28]]


def test_wilson_interval_matches_the_textbook_values() -> None:
    # Wilson 95 % for 58/60, by hand: centre (p + z²/2n) / (1 + z²/n) = 0.93859,
    # half-width z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n) = 0.05222.
    low, high = wilson_interval(58, 60)
    assert low == pytest.approx(0.8864, abs=1e-4)
    assert high == pytest.approx(0.9908, abs=1e-4)
    # All correct: the upper bound is 1, the lower bound is not.
    assert wilson_interval(60, 60)[1] == pytest.approx(1.0)
    assert wilson_interval(60, 60)[0] < 0.95
    assert all(math.isnan(bound) for bound in wilson_interval(0, 0))


def test_the_f1_bootstrap_brackets_the_estimate_and_is_reproducible() -> None:
    estimate = f1_from_cells(29, 2, 1)
    low, high = f1_interval(CONFUSION, positive=0)
    assert low < estimate < high
    assert low > 0.85
    assert high <= 1.0
    assert f1_interval(CONFUSION, positive=0) == (low, high)  # seeded
    assert f1_interval(CONFUSION, positive=0, seed=1) != (low, high)
    assert all(math.isnan(bound) for bound in f1_interval([[0, 0], [0, 0]], positive=0))


def _evaluation(confusion: list[list[int]]) -> EvaluationSummary:
    return EvaluationSummary(
        metrics={"roc_auc": 0.991, "ece": 0.034},
        confusion_matrix=confusion,
        labels=list(LABELS),
        photos=sum(map(sum, confusion)),
    )


def test_the_metrics_table_gives_every_metric_with_its_interval() -> None:
    table = metrics_table(_evaluation(CONFUSION), positive=0)
    assert table[2] == "| accuracy | 95.0 % | 86.3 % - 98.3 % |"
    assert table[3].startswith("| precision | 93.5 % |")
    assert table[4].startswith("| recall | 96.7 % |")
    assert table[6] == "| ROC AUC | 0.9910 | |"


def test_a_metric_without_cases_is_not_applicable_not_zero() -> None:
    table = metrics_table(_evaluation([[0, 0], [0, 10]]), positive=0)
    assert table[3] == "| precision | n/a | n/a |"


def _card(open_set: OpenSetSummary | None = None) -> str:
    """The card of a 400-photo dataset version, 58 of 60 test photos right."""
    dataset = DatasetVersion(
        id="abc123",
        created_at=datetime(2026, 11, 29, 10, tzinfo=UTC),
        counts={
            "dandelion": {"train": 140, "validation": 30, "test": 30},
            "grass": {"train": 140, "validation": 30, "test": 30},
        },
        parameters={},
        manifest_uri="file:///lake/manifest.json",
        store_root="file:///lake",
    )
    training = TrainingSummary(
        run_id="run",
        mlflow_run_id="mlflow-run",
        dataset_version="abc123",
        onnx_sha256="0" * 64,
        input_size=224,
        labels=list(LABELS),
        parity_max_abs_diff=2e-6,
        history=[],
        best_epoch=12,
        best_stage="fine_tune",
        wall_seconds=101.4,
        seeds={"training": 1234},
        config={"batch_size": 32, "head": {"epochs": 20}},
    )
    registered = RegisteredModel(
        name="greenr-classifier",
        version="7",
        mlflow_run_id="mlflow-run",
        run_url="http://mlflow/#/runs/mlflow-run",
        tracking_uri="http://mlflow",
    )
    return model_card_markdown(
        dataset,
        training,
        _evaluation(CONFUSION),
        registered,
        {"/data/greenr": 390, "s3://greenr/feedback": 10},
        open_set,
    )


def test_the_card_names_data_training_metrics_calibration_and_limits() -> None:
    card = _card()
    assert card.startswith("# Model card: greenr-classifier version 7\n")
    for section in (
        "## Intended use",
        "## Data",
        "## Training",
        "## Test metrics (60 photos",
        "## Calibration",
        "## Open-set rejection",
        "## Known limitations",
    ):
        assert section in card
    assert "| label | train | validation | test |" in card
    assert "| dandelion | 140 | 30 | 30 |" in card
    assert "- `s3://greenr/feedback`: 10 photos" in card
    assert "head:\n  epochs: 20" in card
    assert "| dandelion | 29 | 1 |" in card
    assert "Expected calibration error (10 equal-width confidence bins): 0.034" in card
    assert "thumbnails" in card


OPEN_SET = OpenSetSummary(
    method="knn",
    options={"k": 1.0},
    quantile=0.975,
    threshold=0.1234,
    validation_rejection_rate=1 / 60,
    test_rejection_rate=2 / 60,
    validation_photos=60,
    test_photos=60,
)


def _section(card: str) -> str:
    return card.split("## Open-set rejection\n", 1)[1].split("\n## ", 1)[0]


def test_the_open_set_section_gives_method_threshold_and_rejection_rates() -> None:
    card = _card(OPEN_SET)
    section = _section(card)
    assert 'answered "neither"' in section
    assert "Method `knn` (k 1)" in section
    assert "threshold 0.1234, the 0.975 quantile of the validation split's scores." in section
    pooled = _section(_card(OPEN_SET.model_copy(update={"calibration": "pooled"})))
    assert "quantile of the validation split's scores pooled with the train photos' out-of-fold" in pooled
    assert "| validation | 60 | 1.7 % |" in section
    assert "| test | 60 | 3.3 % |" in section
    assert "benchmarks/results/open_set.json" in section
    assert "Open-set rejection is partial" in card
    assert "No open-set rejection" not in card


def test_a_version_without_open_set_says_so() -> None:
    card = _card(None)
    assert "Not part of this version" in _section(card)
    assert "No open-set rejection: a photo of something" in card


def test_the_open_set_section_says_what_the_scorer_learned_from_and_a_fallback() -> None:
    assert "fitted on the train split's embeddings only (no out-of-domain pictures)" in _section(
        _card(OPEN_SET)
    )
    learned = OPEN_SET.model_copy(
        update={"method": "outlier_exposure", "development_negatives": 100, "synthetic_negatives": 24}
    )
    section = _section(_card(learned))
    assert "Method `outlier_exposure` (k 1)" in section
    assert "and 100 out-of-domain development photos plus 24 generated pictures;" in section
    derived = _section(_card(learned.model_copy(update={"derived_negatives": 30})))
    assert "plus 24 generated pictures plus 30 made from train photos;" in derived
    far = _section(_card(learned.model_copy(update={"far_domain_negatives": 22})))
    assert "plus 24 generated pictures plus 22 far-domain pictures (scikit-image's samples);" in far
    assert "Fallback" not in section
    fell_back = OPEN_SET.model_copy(update={"fallback": "no out-of-domain development photos under /x"})
    assert "Fallback: no out-of-domain development photos under /x." in _section(_card(fell_back))
