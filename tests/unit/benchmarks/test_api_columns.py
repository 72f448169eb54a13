"""The API side of the feature columns' cost (benchmarks/api_columns.py) and its interleaved timing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.api_columns import columns_call, has_columns, scratch_store, strip_columns
from benchmarks.serving_benchmark import time_paired
from greenr.catalog import schema

FEATURES = {"brightness": 0.4, "width": 640, "jpeg_compression": "normal"}
OPEN_SET = {"score": 1.5, "threshold": 3.0, "method": "outlier_exposure", "rejected": False}


def answer(features: bool = True) -> bytes:
    """A model-server answer in the documented shape (serving/README.md), for one photo."""
    prediction: dict[str, object] = {"label": "dandelion", "probabilities": {"dandelion": 0.9, "grass": 0.1}}
    if features:
        prediction |= {"features": FEATURES, "feature_set_version": 2, "open_set": OPEN_SET}
    model = {"name": "greenr-classifier", "version": "3", "alias": "champion", "fallback": False}
    return json.dumps({"jsonData": {"model": model, "predictions": [prediction]}}).encode()


def test_stripping_removes_the_columns_and_the_verdict_only() -> None:
    stripped = json.loads(strip_columns(answer()))

    assert stripped == json.loads(answer(features=False))
    assert has_columns(answer())
    assert not has_columns(strip_columns(answer()))
    assert not has_columns(json.dumps({"jsonData": {"predictions": []}}).encode())


def test_the_call_records_the_row_with_or_without_the_columns(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 not decoded: the API's upload check is not part of this")
    with scratch_store() as store:
        call = columns_call([answer()], [photo], store)
        shown = json.loads(str(call(0, True)))
        assert shown["open_set"]["score"] == 1.5
        assert json.loads(str(call(1, False)))["open_set"] is None
        with Session(store.engine) as session:
            rows = session.scalars(select(schema.Prediction)).all()
        assert sorted((row.features is not None, row.open_set_score) for row in rows) == [
            (False, None),
            (True, 1.5),
        ]
        assert {row.filename for row in rows} == {"photo.jpg"}
        with pytest.raises(ValueError, match="2 answers for 1 photos"):
            columns_call([answer(), answer()], [photo], store)


def test_pairs_alternate_their_order_and_the_difference_is_per_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])  # the benchmark module reads time.perf_counter
    calls: list[tuple[int, bool]] = []

    def run(index: int, with_columns: bool) -> None:
        calls.append((index, with_columns))
        # With the columns: 3 ms; without: 1 ms; item 1 is 10 ms slower either way.
        now[0] += (0.003 if with_columns else 0.001) + (0.010 if index == 1 else 0.0)

    cost = time_paired(run, count=2, n=4)

    warm_up = [(0, True), (0, False), (1, True), (1, False)]
    pairs = [(0, True), (0, False), (1, False), (1, True)] * 2  # the order flips every other pair
    assert calls == [*warm_up, *pairs]
    assert cost.added_p50_ms == pytest.approx(2.0)
    assert cost.with_columns.n == cost.without_columns.n == 4
    assert cost.with_columns.p50_ms == pytest.approx(8.0)
    assert cost.without_columns.p50_ms == pytest.approx(6.0)
