"""Batched whylogs profiles of predictions (greenr/api/profiling.py), on a real local object store."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from greenr.api.profiling import PredictionProfiler, ProfileRow, profile_key
from greenr.storage.object_store import S3Options, open_object_store

NO_S3 = S3Options(None, None, None, "us-east-1", 1.0)


def row(i: int) -> ProfileRow:
    confidence = 0.5 + (i % 50) / 100
    return ProfileRow(
        confidence=confidence,
        p_dandelion=confidence,
        label="dandelion",
        latency_ms=10.0 + i,
        width=640,
        height=480,
        bytes=12_000,
    )


def profiles(root: Path) -> list[Path]:
    return sorted((root / "processed" / "profiles" / "predictions").rglob("*.bin"))


def counts(path: Path) -> int:
    from whylogs.core import DatasetProfileView

    frame = DatasetProfileView.deserialize(path.read_bytes()).to_pandas()
    assert set(frame.index) == {
        "confidence",
        "p_dandelion",
        "label",
        "latency_ms",
        "width",
        "height",
        "bytes",
    }
    return int(frame.loc["confidence", "counts/n"])


def test_profile_key() -> None:
    moment = datetime(2026, 11, 28, 9, 5, 7, 123456, tzinfo=UTC)
    assert (
        profile_key(moment, 100) == "processed/profiles/predictions/2026-11-28/20261128T090507123456Z-100.bin"
    )


def test_a_profile_every_batch_and_the_rest_at_close(tmp_path: Path) -> None:
    profiler = PredictionProfiler(open_object_store(str(tmp_path), NO_S3), batch_size=4)
    profiler.add([row(i) for i in range(3)])
    profiler.wait()
    assert profiles(tmp_path) == []
    profiler.add([row(i) for i in range(3, 10)])  # 10 rows: two batches of 4, 2 pending
    profiler.wait()
    assert [counts(p) for p in profiles(tmp_path)] == [4, 4]
    assert profiler.pending_rows() == 2
    profiler.close()
    assert sorted(counts(p) for p in profiles(tmp_path)) == [2, 4, 4]
    profiler.close()  # idempotent
    profiler.add([row(0)])  # after close: dropped with a warning, no error
    assert len(profiles(tmp_path)) == 3


def test_concurrent_adds_lose_no_row(tmp_path: Path) -> None:
    profiler = PredictionProfiler(open_object_store(str(tmp_path), NO_S3), batch_size=25)

    def add_many(offset: int) -> None:
        for i in range(40):
            profiler.add([row(offset + i)])

    threads = [threading.Thread(target=add_many, args=(t * 1000,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    profiler.close()
    assert sorted(counts(p) for p in profiles(tmp_path)) == [20] + [25] * 12


def test_numeric_feature_columns_are_profiled_under_their_names(tmp_path: Path) -> None:
    from whylogs.core import DatasetProfileView

    from greenr.api.profiling import numeric_features, profile_record
    from greenr.features.definitions import feature_set

    served = dict.fromkeys(feature_set().names(), 0.5) | {"label": "grass", "width": 300}
    numeric = numeric_features(served)
    assert set(numeric) == {c.name for c in feature_set().columns if c.numeric}
    assert "label" not in numeric
    # From a server without feature columns: every numeric column, empty; the fields stay.
    empty = numeric_features(None)
    assert set(empty) == set(numeric)
    assert set(empty.values()) == {None}
    assert profile_record(replace(row(0), features=empty))["width"] == 640
    record = profile_record(replace(row(0), features=numeric))
    assert record["width"] == 300.0  # the feature's (upright) width replaces the stored one
    assert record["brightness"] == 0.5

    profiler = PredictionProfiler(open_object_store(str(tmp_path), NO_S3), batch_size=2)
    profiler.add([replace(row(0), features=numeric), replace(row(1), features=empty)])
    profiler.close()
    (path,) = profiles(tmp_path)
    frame = DatasetProfileView.deserialize(path.read_bytes()).to_pandas()
    assert set(numeric) <= set(frame.index)
    assert int(frame.loc["embedding_distance", "counts/n"]) == 2
    assert int(frame.loc["embedding_distance", "counts/null"]) == 1
