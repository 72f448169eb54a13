"""The API's side of open-set rejection: the model server's block, the reason, the catalog, the
metrics and where a "neither" feedback files the photo."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from http_kit import http_server

from greenr.api.image_archive import ImageArchive
from greenr.api.metrics import ApiMetrics
from greenr.api.model_client import ModelClient, ModelServerUnavailable
from greenr.api.open_set_answer import neither_reason
from greenr.api.open_set_view import open_set_info, reason
from greenr.api.predictions_store import PredictionRow, PredictionsStore
from greenr.catalog.database import create_catalog_engine
from greenr.settings import Settings
from greenr.storage.object_store import open_object_store, s3_options

MODEL = {"name": "m", "version": "7", "alias": "champion", "fallback": False}
REJECTED = {"score": 3.1, "threshold": 2.4, "method": "mahalanobis", "rejected": True}


def _answer(*predictions: Mapping[str, object]) -> bytes:
    return json.dumps({"jsonData": {"predictions": list(predictions), "model": MODEL}}).encode()


def test_the_open_set_block_and_a_neither_label_are_parsed_and_optional() -> None:
    rejected = {"label": "neither", "probabilities": {"dandelion": 0.88, "grass": 0.12}, "open_set": REJECTED}
    old = {"label": "grass", "probabilities": {"dandelion": 0.25, "grass": 0.75}}
    with http_server(200, _answer(rejected, old)) as url:
        client = ModelClient(url, timeout_seconds=5)
        answer = client.predict([b"x", b"y"])
        client.close()
    neither, grass = answer.predictions
    assert neither.label == "neither"
    assert neither.confidence == 0.88
    assert neither.open_set is not None
    assert (neither.open_set.score, neither.open_set.threshold, neither.open_set.rejected) == (3.1, 2.4, True)
    assert grass.open_set is None


@pytest.mark.parametrize(
    "prediction",
    [
        {"label": "tulip", "probabilities": {"dandelion": 0.5, "grass": 0.5}},
        {"label": "neither", "probabilities": {"dandelion": 0.5, "grass": 0.5}, "open_set": {"score": 1}},
        {"label": "grass", "probabilities": {"grass": 1.0}, "open_set": {**REJECTED, "rejected": "yes"}},
    ],
)
def test_an_unknown_label_or_a_malformed_block_is_an_unexpected_answer(prediction: dict[str, object]) -> None:
    with http_server(200, _answer(prediction)) as url:
        client = ModelClient(url, timeout_seconds=5)
        with pytest.raises(ModelServerUnavailable) as raised:
            client.predict([b"x"])
        client.close()
    assert raised.value.kind == "bad_response"


def test_the_reason_says_why_in_one_sentence() -> None:
    assert neither_reason("grass", 3.1, 2.4) is None
    assert neither_reason("neither", 3.1, 2.4) == (
        "This doesn't look like a dandelion or grass: its open-set score 3.1 is above the model's "
        "threshold 2.4."
    )
    assert neither_reason("neither", None, None) == "This doesn't look like a dandelion or grass."


def _row(label: str, **open_set: object) -> PredictionRow:
    return PredictionRow(
        id=f"00000000-0000-4000-8000-00000000000{len(open_set)}",
        created_at=datetime(2026, 11, 29, tzinfo=UTC),
        filename="tulip.jpg",
        sha256="a" * 64,
        label=label,
        probabilities={"dandelion": 0.88, "grass": 0.12},
        confidence=0.88,
        model_name="greenr-classifier",
        model_version="7",
        latency_ms=10.0,
        object_key=None,
        **open_set,  # type: ignore[arg-type]
    )


def test_the_catalog_keeps_the_verdict_and_the_history_shows_it(tmp_path: Path) -> None:
    store = PredictionsStore(create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}"))
    scored = _row(
        "neither", open_set_score=3.1, open_set_threshold=2.4, open_set_method="knn", open_set_rejected=True
    )
    unscored = _row("dandelion")
    store.record_predictions([scored, unscored])
    assert store.get_prediction(scored.id) == scored
    items, total = store.history(10, 0)
    assert total == 2
    by_id = {item.prediction.id: item.prediction for item in items}
    info = open_set_info(by_id[scored.id])
    assert info is not None
    assert (info.score, info.threshold, info.method, info.rejected) == (3.1, 2.4, "knn", True)
    assert reason(by_id[scored.id]) == neither_reason("neither", 3.1, 2.4)
    assert open_set_info(by_id[unscored.id]) is None
    assert reason(by_id[unscored.id]) is None


def test_neither_is_counted_by_answer_and_its_feedback_series_start_at_zero() -> None:
    metrics = ApiMetrics()
    metrics.observe_prediction("neither", 0.88, "7")
    text = metrics.render()[0].decode()
    assert 'greenr_api_predictions_total{label="neither",model_version="7"} 1.0' in text
    assert 'greenr_api_feedback_total{correct="false",label="neither"} 0.0' in text


def test_a_neither_answer_files_the_photo_outside_the_training_prefix(tmp_path: Path) -> None:
    store = open_object_store(str(tmp_path / "store"), s3_options(Settings()))
    archive = ImageArchive(store)
    store.put("predictions/abc.jpg", b"tulip")
    assert archive.refile("predictions/abc.jpg", "dandelion") == "feedback/dandelion/abc.jpg"
    assert archive.refile("predictions/abc.jpg", "neither") == "open-set/neither/abc.jpg"
    assert not store.existing_keys("feedback")
    assert store.get("open-set/neither/abc.jpg") == b"tulip"
    # An admin relabels it a class: it leaves open-set/ and becomes training data.
    assert archive.refile("predictions/abc.jpg", "grass") == "feedback/grass/abc.jpg"
    assert not store.existing_keys("open-set")
