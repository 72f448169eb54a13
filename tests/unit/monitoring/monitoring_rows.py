"""Logged predictions for the monitoring tests, built without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from greenr.features.reference import FeatureValue
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
