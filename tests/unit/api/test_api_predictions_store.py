"""Predictions and feedback rows (greenr/api/predictions_store.py) on a real SQLite catalog."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenr.api.predictions_store import FeedbackRow, PredictionRow, PredictionsStore
from greenr.catalog.database import CatalogUnavailable, create_catalog_engine

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def prediction(i: int, at: datetime) -> PredictionRow:
    return PredictionRow(
        id=f"00000000-0000-4000-8000-{i:012d}",
        created_at=at,
        filename=f"{i}.jpg",
        sha256=f"{i:064d}",
        label="dandelion",
        probabilities={"dandelion": 0.9, "grass": 0.1},
        confidence=0.9,
        model_name="greenr-classifier",
        model_version="3",
        latency_ms=12.5,
        object_key=f"predictions/{i:064d}.jpg",
    )


@pytest.fixture
def store(tmp_path: Path) -> PredictionsStore:
    return PredictionsStore(create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}"))


def test_history_is_newest_first_with_a_total_order(store: PredictionsStore) -> None:
    # Rows 0-2 share one instant (one batch): the id breaks the tie, pages never overlap.
    rows = [prediction(i, T0) for i in range(3)] + [
        prediction(i, T0 + timedelta(seconds=i)) for i in range(3, 7)
    ]
    store.record_predictions(rows)
    pages = [store.history(limit=3, offset=offset) for offset in (0, 3, 6)]
    assert all(total == 7 for _, total in pages)
    ids = [item.prediction.id for page, _ in pages for item in page]
    assert ids == [rows[i].id for i in (6, 5, 4, 3, 2, 1, 0)]
    first = pages[0][0][0].prediction
    assert first == rows[6]
    assert first.created_at.tzinfo is not None


def test_latest_feedback_label(store: PredictionsStore) -> None:
    store.record_predictions([prediction(1, T0), prediction(2, T0)])
    target = prediction(1, T0).id
    for minutes, label in ((1, "grass"), (2, "dandelion"), (3, "grass")):
        store.record_feedback(
            FeedbackRow(
                id=f"10000000-0000-4000-8000-{minutes:012d}",
                prediction_id=target,
                label=label,
                correct=label == "dandelion",
                created_at=T0 + timedelta(minutes=minutes),
            )
        )
    labels = {item.prediction.id: item.feedback_label for item in store.history(10, 0)[0]}
    assert labels == {target: "grass", prediction(2, T0).id: None}


def test_a_keys_current_answer(store: PredictionsStore) -> None:
    store.record_predictions([prediction(1, T0)])
    target = prediction(1, T0).id
    assert store.feedback_of(target, "key-a") is None
    first = FeedbackRow("f1", target, "grass", False, T0, "key-a")
    store.record_feedback(first)
    store.record_feedback(FeedbackRow("f2", target, "dandelion", True, T0, "key-b"))
    assert store.feedback_of(target, "key-a") == first
    assert (
        store.record_feedback(
            FeedbackRow("f3", target, "dandelion", True, T0 + timedelta(minutes=1), "key-a")
        )
        == "f1"
    )
    # The same answer again writes nothing and says so; the first time stands.
    assert (
        store.record_feedback(
            FeedbackRow("f4", target, "dandelion", True, T0 + timedelta(minutes=5), "key-a")
        )
        is None
    )
    changed = store.feedback_of(target, "key-a")
    assert changed is not None
    assert (changed.id, changed.label, changed.created_at) == ("f1", "dandelion", T0 + timedelta(minutes=1))


def test_feedback_needs_an_existing_prediction(store: PredictionsStore) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        store.record_feedback(FeedbackRow("f", "no-such-prediction", "grass", True, T0))
    assert store.get_prediction("no-such-prediction") is None


def test_a_database_that_is_down(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = PredictionsStore(create_catalog_engine(f"postgresql://greenr@127.0.0.1:{port}/greenr"))
    assert store.ping() is False
    with pytest.raises(CatalogUnavailable, match="cannot reach the catalog database"):
        store.history(10, 0)


def test_feature_columns_are_stored_and_read_back(store: PredictionsStore) -> None:
    features: dict[str, float | int | str | None] = {"brightness": 0.4, "width": 640, "label": "dandelion"}
    features["embedding_pc1"] = None
    with_features = replace(prediction(1, T0), features=features, feature_set_version=1)
    store.record_predictions([prediction(0, T0), with_features])
    old = store.get_prediction(prediction(0, T0).id)
    new = store.get_prediction(with_features.id)
    assert old is not None
    assert (old.features, old.feature_set_version) == (None, None)
    assert new is not None
    assert (new.features, new.feature_set_version) == (features, 1)
