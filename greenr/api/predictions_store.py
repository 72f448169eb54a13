"""The catalog rows of the API: every prediction, and the feedback on them.

The schema is migrated on first use rather than at import or only at start: the API must start
(and say it is not ready) while the database is down, and begin recording once it is back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.catalog.database import CatalogUnavailable, migrate


@dataclass(frozen=True)
class PredictionRow:
    """One recorded prediction."""

    id: str
    created_at: datetime
    filename: str
    sha256: str
    label: str
    probabilities: dict[str, float]
    confidence: float
    model_name: str
    model_version: str
    latency_ms: float
    object_key: str | None


@dataclass(frozen=True)
class HistoryItem:
    """A prediction as the history lists it, with the latest feedback label given on it."""

    prediction: PredictionRow
    feedback_label: str | None


@dataclass(frozen=True)
class FeedbackRow:
    """One recorded feedback."""

    id: str
    prediction_id: str
    label: str
    correct: bool
    created_at: datetime


class PredictionsStore:
    """Reads and writes of predictions and feedback; thread-safe (one session per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._migrated = False
        self._migrate_lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Bring the schema to the latest revision once per process (CatalogUnavailable when down)."""
        if self._migrated:
            return
        with self._migrate_lock:
            if not self._migrated:
                migrate(self.engine)
                self._migrated = True

    def ping(self) -> bool:
        """True when the database answers and holds the schema."""
        try:
            self.ensure_schema()
            with self._session() as session:
                session.execute(text("SELECT 1"))
        except CatalogUnavailable:
            return False
        return True

    def record_predictions(self, rows: Sequence[PredictionRow]) -> None:
        """Insert the predictions of one request in one transaction."""
        with self._session() as session, session.begin():
            session.add_all(schema.Prediction(**asdict(row)) for row in rows)

    def get_prediction(self, prediction_id: str) -> PredictionRow | None:
        with self._session() as session:
            row = session.get(schema.Prediction, prediction_id)
            return None if row is None else _prediction(row)

    def record_feedback(self, row: FeedbackRow) -> None:
        with self._session() as session, session.begin():
            session.add(schema.Feedback(**asdict(row)))

    def history(self, limit: int, offset: int) -> tuple[list[HistoryItem], int]:
        """A page of predictions, newest first, and how many there are in all."""
        latest_feedback = (
            select(schema.Feedback.label)
            .where(schema.Feedback.prediction_id == schema.Prediction.id)
            .order_by(schema.Feedback.created_at.desc(), schema.Feedback.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(schema.Prediction, latest_feedback)
            # id breaks ties between rows of the same instant, so pages never overlap.
            .order_by(schema.Prediction.created_at.desc(), schema.Prediction.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._session() as session:
            total = int(session.scalar(select(func.count()).select_from(schema.Prediction)) or 0)
            items = [HistoryItem(_prediction(row), label) for row, label in session.execute(query).tuples()]
        return items, total

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        self.ensure_schema()
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except (OperationalError, InterfaceError) as error:
            # "connection refused", "server closed the connection", SQLite's "unable to open
            # database file": the database is down, not the request wrong.
            raise CatalogUnavailable(
                f"cannot reach the catalog database {self.engine.url.render_as_string(hide_password=True)}: "
                f"{error.orig}"
            ) from None


def _utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _prediction(row: schema.Prediction) -> PredictionRow:
    probabilities: dict[str, Any] = dict(row.probabilities)
    return PredictionRow(
        id=row.id,
        created_at=_utc(row.created_at),
        filename=row.filename,
        sha256=row.sha256,
        label=row.label,
        probabilities={str(k): float(v) for k, v in probabilities.items()},
        confidence=row.confidence,
        model_name=row.model_name,
        model_version=row.model_version,
        latency_ms=row.latency_ms,
        object_key=row.object_key,
    )
