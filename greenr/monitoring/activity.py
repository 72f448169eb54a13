"""What production looked like over a period, read from the catalog: the Monitoring page's numbers.

Predictions per class per hour or day, the confidence histogram, feedback accuracy per hour or
day, and the monitoring runs with their verdicts and retrain decisions. Counting is done by the
database (GROUP BY), so a period of a million predictions returns a few hundred numbers.
Times are UTC: the API writes `created_at` in UTC, and SQLite keeps no time zone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from greenr.catalog import schema
from greenr.contracts import LABELS

Bucket = Literal["hour", "day"]

CONFIDENCE_BINS: Final = 10
# The confidence of the predicted class is never below 1 / (number of classes).
CONFIDENCE_FLOOR: Final = 1.0 / len(LABELS)
# Up to this many days, predictions are counted per hour; beyond, per day.
HOURLY_UP_TO_DAYS: Final = 2


class ClassCount(BaseModel):
    """Predictions of one class in one bucket (an hour or a day starting at `start`)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    label: str
    count: int


class ConfidenceBin(BaseModel):
    """Predictions whose confidence is in [low, high) ([low, high] for the last bin), per class."""

    model_config = ConfigDict(frozen=True)

    low: float
    high: float
    counts: dict[str, int]


class FeedbackPoint(BaseModel):
    """Feedback given in one bucket: how many answers, how many said the model was right."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    labelled: int
    correct: int
    accuracy: float


class MonitoringRunItem(BaseModel):
    """One monitoring run as the catalog records it (`monitoring_runs`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    started_at: datetime
    finished_at: datetime
    since: datetime | None
    until: datetime
    predictions: int
    windows: int
    drifted: bool
    retrain: bool
    forced: bool
    reasons: list[str]
    report_key: str | None


class Activity(BaseModel):
    """Everything the Monitoring page charts for one period, and the latest monitoring runs."""

    model_config = ConfigDict(frozen=True)

    since: datetime
    until: datetime
    bucket: Bucket
    predictions: int
    per_class: list[ClassCount]
    confidence: list[ConfidenceBin]
    feedback: list[FeedbackPoint]
    runs: list[MonitoringRunItem]
    latest_report_run_id: str | None


def default_bucket(days: float) -> Bucket:
    """Hours for a short period (a day or two), days for a longer one."""
    return "hour" if days <= HOURLY_UP_TO_DAYS else "day"


def read_activity(session: Session, since: datetime, until: datetime, bucket: Bucket, runs: int) -> Activity:
    """The period (since, until] of the catalog, counted per `bucket`, and the last `runs` runs."""
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    per_class = predictions_per_class(session, since, until, bucket)
    recent = recent_runs(session, runs)
    return Activity(
        since=since,
        until=until,
        bucket=bucket,
        predictions=sum(item.count for item in per_class),
        per_class=per_class,
        confidence=confidence_histogram(session, since, until),
        feedback=feedback_accuracy(session, since, until, bucket),
        runs=recent,
        latest_report_run_id=next((run.id for run in recent if run.report_key is not None), None),
    )


def predictions_per_class(
    session: Session, since: datetime, until: datetime, bucket: Bucket
) -> list[ClassCount]:
    """How many predictions of each class per bucket, oldest first (empty buckets left out)."""
    start = _bucket_start(session, schema.Prediction.created_at, bucket)
    query = (
        select(start, schema.Prediction.label, func.count())
        .where(schema.Prediction.created_at > since, schema.Prediction.created_at <= until)
        .group_by(start, schema.Prediction.label)
    )
    counts = [
        ClassCount(start=_utc(moment), label=label, count=int(count))
        for moment, label, count in session.execute(query).tuples()
    ]
    return sorted(counts, key=lambda item: (item.start, item.label))


def confidence_histogram(session: Session, since: datetime, until: datetime) -> list[ConfidenceBin]:
    """CONFIDENCE_BINS equal bins from CONFIDENCE_FLOOR to 1, each with its count per predicted class."""
    width = (1.0 - CONFIDENCE_FLOOR) / CONFIDENCE_BINS
    edges = [CONFIDENCE_FLOOR + index * width for index in range(CONFIDENCE_BINS + 1)]
    # A CASE of comparisons is portable; FLOOR and integer casts differ between SQLite and PostgreSQL.
    index = case(
        *((schema.Prediction.confidence < edge, position) for position, edge in enumerate(edges[1:-1])),
        else_=CONFIDENCE_BINS - 1,
    )
    query = (
        select(index, schema.Prediction.label, func.count())
        .where(schema.Prediction.created_at > since, schema.Prediction.created_at <= until)
        .group_by(index, schema.Prediction.label)
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for position, label, count in session.execute(query).tuples():
        counts[int(position)][label] = int(count)
    return [
        ConfidenceBin(low=round(edges[i], 6), high=round(edges[i + 1], 6), counts=counts.get(i, {}))
        for i in range(CONFIDENCE_BINS)
    ]


def feedback_accuracy(
    session: Session, since: datetime, until: datetime, bucket: Bucket
) -> list[FeedbackPoint]:
    """Per bucket of the time feedback was given: answers, answers saying "right", their share.

    Every answer counts (two keys answering on one prediction are two answers), as the feedback
    counter of /metrics does.
    """
    start = _bucket_start(session, schema.Feedback.created_at, bucket)
    right = func.sum(case((schema.Feedback.correct, 1), else_=0))
    query = (
        select(start, func.count(), right)
        .where(schema.Feedback.created_at > since, schema.Feedback.created_at <= until)
        .group_by(start)
    )
    points = [
        FeedbackPoint(
            start=_utc(moment),
            labelled=int(total),
            correct=int(good or 0),
            accuracy=int(good or 0) / int(total),
        )
        for moment, total, good in session.execute(query).tuples()
    ]
    return sorted(points, key=lambda point: point.start)


def recent_runs(session: Session, limit: int) -> list[MonitoringRunItem]:
    """The last `limit` monitoring runs, newest first."""
    query = (
        select(schema.MonitoringRun)
        .order_by(schema.MonitoringRun.started_at.desc(), schema.MonitoringRun.id.desc())
        .limit(limit)
    )
    return [_run_item(row) for row in session.scalars(query)]


def find_run(session: Session, run_id: str) -> MonitoringRunItem | None:
    """One monitoring run by its id."""
    row = session.get(schema.MonitoringRun, run_id)
    return None if row is None else _run_item(row)


def period(days: float, now: datetime) -> tuple[datetime, datetime]:
    """The last `days` days up to `now`, in UTC."""
    until = now.astimezone(UTC)
    return until - timedelta(days=days), until


def _run_item(row: schema.MonitoringRun) -> MonitoringRunItem:
    return MonitoringRunItem(
        id=row.id,
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
        since=None if row.since is None else _utc(row.since),
        until=_utc(row.until),
        predictions=row.predictions,
        windows=row.windows,
        drifted=row.drifted,
        retrain=row.retrain,
        forced=row.forced,
        reasons=[str(reason) for reason in row.reasons],
        report_key=row.report_key,
    )


def _bucket_start(
    session: Session, column: InstrumentedAttribute[datetime], bucket: Bucket
) -> ColumnElement[object]:
    if session.get_bind().dialect.name == "postgresql":
        # The session's time zone must not move a bucket's edge: truncate the UTC wall time.
        return func.date_trunc(bucket, func.timezone("UTC", column))
    # SQLite stores the UTC wall time as text; strftime truncates it.
    return func.strftime("%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00", column)


def _utc(moment: object) -> datetime:
    """A datetime from the database (SQLite: text, or naive) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if not isinstance(parsed, datetime):
        raise TypeError(f"expected a time from the catalog, got {parsed!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
