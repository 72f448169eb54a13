"""whylogs profiles of the logged predictions, written by the monitoring pipeline from the catalog.

Each run profiles the predictions it consumes (`CollectedLog.consumed`: every row of its period,
with feature columns or not), one profile per model version, to
`processed/profiles/predictions/<yyyy-mm-dd>/<first prediction's time>-<model>-v<version>-<n>.bin`
(n = rows in it). Runs consume disjoint periods, so every prediction is profiled once: the
pipeline profiles just before it records the run, so a run that fails earlier profiles nothing
(the next run reads its period again), and running a period again writes the same keys.

The API wrote these profiles itself until 2026-11-30: profiling a batch of 100 predictions took
~300 ms of CPU under its GIL (~1.7 ms per request, and a stall of the requests in flight). The
catalog already holds every column profiled here except the upload's size in bytes, which is no
longer profiled.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from greenr.contracts import POSITIVE_LABEL
from greenr.features.definitions import feature_set
from greenr.monitoring.prediction_log import LoggedPrediction
from greenr.storage.object_store import ObjectStore

PROFILES_PREFIX: Final = "processed/profiles/predictions"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def profile_record(prediction: LoggedPrediction, numeric_columns: Sequence[str]) -> dict[str, Any]:
    """One profiled row: label, confidence, p_dandelion, latency_ms, then the numeric feature columns.

    The feature columns keep the feature set's names, so profiles line up with a reference
    profiled from the same columns; one named like a field (p_dandelion, confidence) replaces it
    when it has a value (the same quantity, by the definition monitoring uses). A row without
    features has every feature column empty.
    """
    probabilities = prediction.probabilities
    record: dict[str, Any] = {
        "label": prediction.label,
        "confidence": prediction.confidence
        if prediction.confidence is not None
        else max(probabilities.values(), default=None),
        "p_dandelion": probabilities.get(POSITIVE_LABEL),
        "latency_ms": prediction.latency_ms,
    }
    features = prediction.features or {}
    for name in numeric_columns:
        value = _number(features.get(name))
        if value is not None or name not in record:
            record[name] = value
    return record


def profile_key(first: datetime, model_name: str, model_version: str, rows: int) -> str:
    """Object key of the profile of `rows` predictions of one version, the first made at `first` (UTC)."""
    name = f"{first:%Y%m%dT%H%M%S%fZ}-{model_name}-v{model_version}-{rows}.bin"
    return f"{PROFILES_PREFIX}/{first:%Y-%m-%d}/{name}"


def by_model_version(
    predictions: Sequence[LoggedPrediction],
) -> dict[tuple[str, str], list[LoggedPrediction]]:
    """The predictions of each model version, in log order."""
    groups: dict[tuple[str, str], list[LoggedPrediction]] = defaultdict(list)
    for prediction in predictions:
        groups[(prediction.model_name, prediction.model_version)].append(prediction)
    return dict(groups)


def serialize_profile(predictions: Sequence[LoggedPrediction], numeric_columns: Sequence[str]) -> bytes:
    """A whylogs profile of the predictions (dataset timestamp: the first one's time), serialized."""
    # whylogs sends usage statistics from a thread started at import unless this is set.
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    import pandas as pd
    from whylogs.core import DatasetProfile

    profile = DatasetProfile(dataset_timestamp=predictions[0].created_at)
    profile.track(pandas=pd.DataFrame([profile_record(p, numeric_columns) for p in predictions]))
    data: bytes = profile.view().serialize()
    return data


def write_profiles(store: ObjectStore, predictions: Sequence[LoggedPrediction]) -> list[str]:
    """Profile the predictions, one profile per model version; the keys written."""
    numeric = [column.name for column in feature_set().columns if column.numeric]
    keys = []
    for (name, version), rows in by_model_version(predictions).items():
        key = profile_key(rows[0].created_at, name, version, len(rows))
        store.put(key, serialize_profile(rows, numeric))
        keys.append(key)
    return keys
