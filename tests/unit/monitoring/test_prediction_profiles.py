"""whylogs profiles of logged predictions (greenr/monitoring/prediction_profiles.py), on a local store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prediction_log_kit import logged

from greenr.features.definitions import feature_set
from greenr.features.reference import FeatureValue
from greenr.monitoring.prediction_profiles import (
    PROFILES_PREFIX,
    profile_key,
    profile_record,
    write_profiles,
)
from greenr.storage.object_store import S3Options, open_object_store

NO_S3 = S3Options(None, None, None, "us-east-1", 1.0)
NUMERIC = [column.name for column in feature_set().columns if column.numeric]


def profile_counts(path: Path) -> dict[str, int]:
    from whylogs.core import DatasetProfileView

    frame = DatasetProfileView.deserialize(path.read_bytes()).to_pandas()
    return {str(column): int(frame.loc[column, "counts/n"]) for column in frame.index}


def test_profile_key() -> None:
    first = datetime(2026, 11, 28, 9, 5, 7, 123456, tzinfo=UTC)
    assert (
        profile_key(first, "greenr-classifier", "3", 100)
        == f"{PROFILES_PREFIX}/2026-11-28/20261128T090507123456Z-greenr-classifier-v3-100.bin"
    )


def test_a_record_holds_the_outputs_and_every_numeric_feature_column() -> None:
    features: dict[str, FeatureValue] = {
        "brightness": 0.25,
        "p_dandelion": 0.8,
        "jpeg_compression": "normal",
        "width": 640,
    }
    record = profile_record(
        logged(1, features=features, probabilities={"dandelion": 0.7, "grass": 0.3}).model_copy(
            update={"latency_ms": 12.5}
        ),
        NUMERIC,
    )
    assert set(record) == {"label", "confidence", "p_dandelion", "latency_ms", *NUMERIC}
    assert record["brightness"] == 0.25
    assert record["width"] == 640.0
    assert record["p_dandelion"] == 0.8  # the feature column, by monitoring's definition, wins
    assert record["confidence"] == 0.7  # not stored: the top probability
    assert record["latency_ms"] == 12.5
    assert "jpeg_compression" not in record  # a category: not a numeric column

    bare = profile_record(logged(2, features={}, probabilities={"dandelion": 0.4, "grass": 0.6}), NUMERIC)
    assert bare["p_dandelion"] == 0.4  # no feature column: the probability stays
    assert bare["brightness"] is None


def test_one_profile_per_model_version_counting_every_prediction_once(tmp_path: Path) -> None:
    store = open_object_store(str(tmp_path), NO_S3)
    rows = [logged(n, version="1") for n in range(5)]
    rows += [logged(n, version="2", features={}) for n in range(5, 8)]  # without features: profiled too
    keys = write_profiles(store, rows)
    assert keys == [
        profile_key(rows[0].created_at, "greenr-classifier", "1", 5),
        profile_key(rows[5].created_at, "greenr-classifier", "2", 3),
    ]
    counts = [profile_counts(tmp_path / key) for key in keys]
    assert [c["label"] for c in counts] == [5, 3]
    assert all(set(c) == {"label", "confidence", "p_dandelion", "latency_ms", *NUMERIC} for c in counts)
    # The same period profiled again (a run read again) replaces the objects, adds none.
    assert write_profiles(store, rows) == keys
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.bin")) == sorted(keys)
    assert write_profiles(store, []) == []
