"""The catalog rows of the API: every prediction, and the feedback on them.

The schema is migrated on first use rather than at import or only at start: the API must start
(and say it is not ready) while the database is down, and begin recording once it is back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, false, func, insert, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    # The API key that asked; None for rows from before keys existed.
    api_key_id: str | None = None
    # The feature columns the model server computed (greenr/features/feature_set.yaml) and that
    # file's version; None for rows from before them, or from a server that does not send them.
    features: dict[str, float | int | str | None] | None = None
    feature_set_version: int | None = None
    # The open-set verdict (serving/README.md); None for rows from before it, or from a model
    # published without open_set.json. `label` is "neither" when `open_set_rejected`.
    open_set_score: float | None = None
    open_set_threshold: float | None = None
    open_set_method: str | None = None
    open_set_rejected: bool | None = None


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
    api_key_id: str | None = None


@dataclass(frozen=True)
class FeedbackVote:
    """One answer on some prediction of an image: its label, when, and the answering key's role."""

    label: str
    created_at: datetime
    role: str | None


_PREDICTION_FIELDS = tuple(field.name for field in fields(PredictionRow))
_PREDICTION_INSERT = insert(schema.Base.metadata.tables[schema.Prediction.__tablename__])


def prediction_values(row: PredictionRow) -> dict[str, Any]:
    """The row's column values for an INSERT (its fields are the table's columns)."""
    return {name: getattr(row, name) for name in _PREDICTION_FIELDS}


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
        if not rows:
            return
        # A Core INSERT on the table rather than ORM objects or the ORM's bulk INSERT, and shallow
        # row dicts rather than `asdict` (which deep-copies the feature columns): the rows are only
        # written here, never read back. In-process on SQLite, one row with its 40 feature
        # columns: 0.50 ms of CPU through the ORM's bulk INSERT of `asdict` rows, 0.24 ms this way
        # (1000 calls each, 2026-11-30).
        with self._session() as session, session.begin():
            session.execute(_PREDICTION_INSERT, [prediction_values(row) for row in rows])

    def get_prediction(self, prediction_id: str) -> PredictionRow | None:
        with self._session() as session:
            row = session.get(schema.Prediction, prediction_id)
            return None if row is None else _prediction(row)

    def record_feedback(self, row: FeedbackRow) -> str | None:
        """Insert the key's answer on the prediction, or replace its earlier one; returns the row's id,
        or None when the key's stored answer already has this label (nothing written).

        One statement (INSERT ... ON CONFLICT DO UPDATE WHERE the label differs, on the unique
        (prediction, key)), so concurrent answers of one key can never make two rows, and of several
        writers sending the same answer at once (API replicas, retries) exactly one is told it wrote
        it: the decision is the database's, not a lock in one process. A replaced row keeps its id.
        """
        dialect = self.engine.dialect.name
        upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            upsert(schema.Feedback)
            .values(**asdict(row))
            .on_conflict_do_update(
                index_elements=[schema.Feedback.prediction_id, schema.Feedback.api_key_id],
                set_={"label": row.label, "correct": row.correct, "created_at": row.created_at},
                where=schema.Feedback.label != row.label,
            )
            .returning(schema.Feedback.id)
        )
        with self._session() as session, session.begin():
            stored = session.execute(statement).scalar_one_or_none()
            return None if stored is None else str(stored)

    def feedback_of(self, prediction_id: str, api_key_id: str) -> FeedbackRow | None:
        """The key's current answer on the prediction, if it gave one."""
        query = select(schema.Feedback).where(
            schema.Feedback.prediction_id == prediction_id, schema.Feedback.api_key_id == api_key_id
        )
        with self._session() as session:
            row = session.scalars(query).first()
            if row is None:
                return None
            return FeedbackRow(
                row.id, row.prediction_id, row.label, row.correct, _utc(row.created_at), row.api_key_id
            )

    def feedback_votes(self, sha256: str) -> list[FeedbackVote]:
        """Every answer on every prediction of the image with this hash, with the answering key's role."""
        query = (
            select(schema.Feedback.label, schema.Feedback.created_at, schema.ApiKey.role)
            .join(schema.Prediction, schema.Prediction.id == schema.Feedback.prediction_id)
            .outerjoin(schema.ApiKey, schema.ApiKey.id == schema.Feedback.api_key_id)
            .where(schema.Prediction.sha256 == sha256)
        )
        with self._session() as session:
            return [
                FeedbackVote(label, _utc(at), role) for label, at, role in session.execute(query).tuples()
            ]

    def history(self, limit: int, offset: int, owner: str | None = None) -> tuple[list[HistoryItem], int]:
        """A page of predictions, newest first, and how many there are in all.

        `owner`: only the predictions of this API key; None: all of them (admins).
        `feedback_label` is the latest answer on the prediction by any key.
        """
        latest_feedback = (
            select(schema.Feedback.label)
            .where(schema.Feedback.prediction_id == schema.Prediction.id)
            .order_by(schema.Feedback.created_at.desc(), schema.Feedback.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        mine = true() if owner is None else schema.Prediction.api_key_id == owner
        query = (
            select(schema.Prediction, latest_feedback)
            .where(mine)
            # id breaks ties between rows of the same instant, so pages never overlap.
            .order_by(schema.Prediction.created_at.desc(), schema.Prediction.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._session() as session:
            total = int(session.scalar(select(func.count()).select_from(schema.Prediction).where(mine)) or 0)
            items = [HistoryItem(_prediction(row), label) for row, label in session.execute(query).tuples()]
        return items, total

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> AbstractContextManager[Session]:
        """A session on the migrated catalog, for the API's other tables (greenr/api/keys/store.py)."""
        return self._session()

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
        api_key_id=row.api_key_id,
        features=None if row.features is None else dict(row.features),
        feature_set_version=row.feature_set_version,
        open_set_score=row.open_set_score,
        open_set_threshold=row.open_set_threshold,
        open_set_method=row.open_set_method,
        open_set_rejected=row.open_set_rejected,
    )
