"""The `monitoring_runs` table: where the next run starts, what the retrain policy remembers.

The retrain policy reads the drift verdicts of the earlier runs (a run that compared no window
gave no verdict, so it neither extends nor breaks a streak). `windows` counts the windows compared
with a reference. The cooldown starts at the last retraining that happened, which the registry
knows (greenr.registry.model_registry.last_retraining_at), not at a decision to retrain: one that
nobody acted on must not hold the next decision back, and a forced retraining counts too.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.monitoring.comparison import compared
from greenr.monitoring.prediction_log import as_utc
from greenr.monitoring.report import DriftReport


class PastRuns(BaseModel):
    """What the earlier monitoring runs tell this one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    last_until: datetime | None  # end of the latest run's period: where this run starts
    last_started_at: datetime | None  # feedback given after this is new to this run
    drift_verdicts: list[bool]  # oldest first, runs that compared at least one window


def past_runs(engine: Engine) -> PastRuns:
    """Read every earlier run (one or a few a day: the table stays small)."""
    query = select(schema.MonitoringRun).order_by(schema.MonitoringRun.started_at, schema.MonitoringRun.id)
    with Session(engine) as session:
        runs = list(session.scalars(query))
    return PastRuns(
        last_until=as_utc(runs[-1].until) if runs else None,
        last_started_at=as_utc(runs[-1].started_at) if runs else None,
        drift_verdicts=[run.drifted for run in runs if run.windows > 0],
    )


def verdicts_with(past: PastRuns, report_windows: int, drifted: bool) -> list[bool]:
    """The drift verdicts the policy weighs: the earlier runs', then this run's if it compared any."""
    return [*past.drift_verdicts, drifted] if report_windows > 0 else list(past.drift_verdicts)


def run_row(
    report: DriftReport, started_at: datetime, finished_at: datetime, predictions: int, report_key: str
) -> schema.MonitoringRun:
    """The table row of a finished run."""
    return schema.MonitoringRun(
        id=report.run_id,
        started_at=started_at,
        finished_at=finished_at,
        since=report.since,
        until=report.until,
        predictions=predictions,
        windows=len(compared(report.windows)),
        drifted=report.drifted,
        retrain=report.decision.retrain,
        forced=report.decision.forced,
        reasons=list(report.decision.reasons),
        report_key=report_key,
    )


def record_run(engine: Engine, row: schema.MonitoringRun) -> None:
    """Insert the run (a run is recorded once: its id is its report's)."""
    with Session(engine) as session, session.begin():
        session.add(row)
