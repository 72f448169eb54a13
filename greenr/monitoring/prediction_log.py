"""The prediction log as the monitoring pipeline reads it: the catalog's `predictions` since a time.

Rows logged before the model server computed feature columns have none (`features` is NULL):
they are counted and skipped, never compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.features.reference import FeatureValue


class LoggedPrediction(BaseModel):
    """One answered image, with the feature columns the model server computed for it."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    id: str
    created_at: datetime
    label: str
    probabilities: dict[str, float]
    model_name: str
    model_version: str
    features: dict[str, FeatureValue] | None
    feature_set_version: int | None
    # What the whylogs profiles add to the columns above (greenr.monitoring.prediction_profiles).
    confidence: float | None = None
    latency_ms: float | None = None

    @property
    def stream(self) -> tuple[str, str, int | None]:
        """What a window must share: the model version that answered and the feature set version."""
        return (self.model_name, self.model_version, self.feature_set_version)


def as_utc(moment: datetime) -> datetime:
    """A database time as an aware UTC time (SQLite hands back naive ones, PostgreSQL aware ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def load_predictions(engine: Engine, since: datetime | None) -> list[LoggedPrediction]:
    """Every prediction created after `since` (all of them when None), oldest first."""
    query = select(schema.Prediction).order_by(schema.Prediction.created_at, schema.Prediction.id)
    if since is not None:
        query = query.where(schema.Prediction.created_at > since)
    with Session(engine) as session:
        return [_logged(row) for row in session.scalars(query)]


def _logged(row: schema.Prediction) -> LoggedPrediction:
    return LoggedPrediction(
        id=row.id,
        created_at=as_utc(row.created_at),
        label=row.label,
        probabilities={str(key): float(value) for key, value in row.probabilities.items()},
        model_name=row.model_name,
        model_version=row.model_version,
        features=_features(row.features),
        feature_set_version=row.feature_set_version,
        confidence=row.confidence,
        latency_ms=row.latency_ms,
    )


def _features(stored: dict[str, Any] | None) -> dict[str, FeatureValue] | None:
    # An empty dict is no more use than NULL: both are rows the server computed nothing for.
    return dict(stored) if stored else None


def with_features(predictions: Sequence[LoggedPrediction]) -> list[LoggedPrediction]:
    """The predictions that carry feature columns (and the feature set version they follow)."""
    return [p for p in predictions if p.features and p.feature_set_version is not None]
