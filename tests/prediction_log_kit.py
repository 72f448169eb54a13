"""Logged predictions, feature rows and references for the monitoring tests (no database needed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from greenr.contracts import LABELS
from greenr.features.definitions import feature_set
from greenr.features.reference import FeatureReference, FeatureValue, ReferenceRow
from greenr.monitoring.prediction_log import LoggedPrediction

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def logged(
    n: int,
    *,
    version: str = "1",
    seconds: float | None = None,
    features: dict[str, FeatureValue] | None = None,
    feature_set_version: int | None = 1,
    label: str = "dandelion",
    probabilities: dict[str, float] | None = None,
    name: str = "greenr-classifier",
) -> LoggedPrediction:
    """Prediction number n, created n seconds after T0 (or at `seconds`)."""
    return LoggedPrediction(
        id=f"p{n:05d}-v{version}",
        created_at=T0 + timedelta(seconds=n if seconds is None else seconds),
        label=label,
        probabilities=probabilities if probabilities is not None else {"dandelion": 0.9, "grass": 0.1},
        model_name=name,
        model_version=version,
        features=features if features is not None else {"brightness": 0.5},
        feature_set_version=feature_set_version,
    )


def feature_row(rng: random.Random, shift: float = 0.0, label: str | None = None) -> dict[str, FeatureValue]:
    """One prediction's feature columns (the project's feature set), drawn at random.

    Numeric columns are uniform on [0, 1) (ints on 200..400) plus `shift`; the label is the
    given one or a fair draw of the classes; every upload is a normally compressed JPEG.
    """
    row: dict[str, FeatureValue] = {}
    for column in feature_set().columns:
        if column.name == "jpeg_compression":
            row[column.name] = "normal"
        elif not column.numeric:
            row[column.name] = label if label is not None else rng.choice(LABELS)
        elif column.type == "int":
            row[column.name] = rng.randint(200, 400) + round(shift * 100)
        else:
            row[column.name] = rng.random() + shift
    return row


def reference_for(name: str, version: str, rows: int = 300, seed: int = 0) -> FeatureReference:
    """A reference of the current feature set: half train, half validation rows from `feature_row`."""
    rng = random.Random(seed)
    features = feature_set()
    output = set(features.names("output"))
    reference_rows = []
    for n in range(rows):
        split = "train" if n % 2 else "validation"
        values = feature_row(rng)
        if split == "train":  # the reference's contract: output columns on validation rows only
            values = {key: None if key in output else value for key, value in values.items()}
        label = str(values.get("label") or rng.choice(LABELS))
        reference_rows.append(ReferenceRow(split=split, label=label, features=values))
    return FeatureReference(
        feature_set_name=features.name,
        feature_set_version=features.version,
        column_versions=features.column_versions(),
        model_name=name,
        model_version=version,
        rows=reference_rows,
    )
