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

from sqlalchemy import Connection, Engine, false, func, select, text, update
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError, SQLAlchemyError
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

    def refuses_writes(self) -> str | None:
        """None when the database would accept a prediction now; otherwise why it would not.

        A write that changes nothing (`UPDATE predictions ... WHERE false`, rolled back) takes the
        same write lock a prediction does, so a read-only, locked or full database answers here,
        within `WRITE_PROBE_TIMEOUT_SECONDS` instead of the 5 s a request would wait.
        """
        try:
            self.ensure_schema()
            with self.engine.connect() as connection, connection.begin() as transaction:
                with _short_lock_wait(connection):
                    connection.execute(
                        update(schema.Prediction).where(false()).values(id=schema.Prediction.id)
                    )
                transaction.rollback()
        except CatalogUnavailable as error:
            return str(error)
        except SQLAlchemyError as error:
            return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return None

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
        except (OperationalError, InterfaceError, InternalError) as error:
            # "connection refused", "server closed the connection", SQLite's "unable to open
            # database file", "attempt to write a readonly database", PostgreSQL's read-only
            # transaction (a replica, a full disk): the database is down, not the request wrong.
            if isinstance(error, InternalError) and not _refuses_writes(error):
                raise
            raise CatalogUnavailable(
                f"cannot reach the catalog database {self.engine.url.render_as_string(hide_password=True)}: "
                f"{error.orig}"
            ) from None


WRITE_PROBE_TIMEOUT_SECONDS = 1.0
# PostgreSQL's SQLSTATE for "cannot execute ... in a read-only transaction".
_READ_ONLY_SQLSTATE = "25006"


def _refuses_writes(error: InternalError) -> bool:
    return getattr(error.orig, "sqlstate", None) == _READ_ONLY_SQLSTATE


@contextmanager
def _short_lock_wait(connection: Connection) -> Iterator[None]:
    """Wait at most WRITE_PROBE_TIMEOUT_SECONDS for locks on this connection, inside the block."""
    milliseconds = int(WRITE_PROBE_TIMEOUT_SECONDS * 1000)
    if connection.dialect.name == "sqlite":
        before = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(before or 0)}")
        return
    if connection.dialect.name == "postgresql":
        # SET LOCAL ends with the transaction (rolled back right after the probe).
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
    yield


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
