"""What one monitoring run looks at: the predictions logged since the last run, in windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from greenr.monitoring.prediction_log import LoggedPrediction, load_predictions, with_features
from greenr.monitoring.windows import Windowing, cut_windows

NOTHING_YET: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""`until` of a first run that consumed nothing: the next run reads the whole log again."""


class CollectedLog(BaseModel):
    """The predictions of one run's period (since, until] and how they were cut into windows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    started_at: datetime
    since: datetime | None
    until: datetime
    consumed: list[LoggedPrediction]  # every row of the period, with features or not
    pending: list[LoggedPrediction]  # rows read but left for the next run (validated all the same)
    without_features: int  # consumed rows logged before the server computed features: skipped
    windowing: Windowing
    # Feedback given after this (the previous run's start) is scored by this run even when its
    # prediction belonged to an earlier period; None on a first run, which consumes the whole log.
    feedback_since: datetime | None = None


def consumed_rows(predictions: Sequence[LoggedPrediction], windowing: Windowing) -> list[LoggedPrediction]:
    """The rows of the period: all but those created at or after the first carried prediction."""
    if windowing.carried == 0:
        return list(predictions)
    featured = with_features(predictions)
    first_carried = featured[len(featured) - windowing.carried :][0].created_at
    return [p for p in predictions if p.created_at < first_carried]


def period_of(
    predictions: Sequence[LoggedPrediction], size: int, since: datetime | None
) -> tuple[list[LoggedPrediction], Windowing, datetime]:
    """The consumed rows, their windows and the period's end (`since`, or NOTHING_YET, when empty).

    `predictions` are every row after `since`, oldest first.
    """
    windowing = cut_windows(with_features(predictions), size)
    consumed = consumed_rows(predictions, windowing)
    until = max((p.created_at for p in consumed), default=since or NOTHING_YET)
    return consumed, windowing, until


def collect_log(
    engine: Engine,
    since: datetime | None,
    size: int,
    run_id: str,
    now: datetime,
    feedback_since: datetime | None = None,
) -> CollectedLog:
    """Read the log after `since` and keep what this run consumes (see greenr.monitoring.windows)."""
    read = load_predictions(engine, since)
    consumed, windowing, until = period_of(read, size, since)
    return CollectedLog(
        run_id=run_id,
        started_at=now,
        since=since,
        until=until,
        consumed=consumed,
        pending=read[len(consumed) :],
        without_features=len(consumed) - len(with_features(consumed)),
        windowing=windowing,
        feedback_since=feedback_since,
    )
