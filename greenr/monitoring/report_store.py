"""A run's drift report: summary.json and whylogs' drift.html under processed/monitoring/<run id>/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.comparison import compared
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.report import (
    MONITORING_PREFIX,
    DriftReport,
    FeedbackScore,
    RetrainDecision,
    WindowReport,
)
from greenr.storage.object_store import ObjectStore

SUMMARY_FILE: Final = "summary.json"
HTML_FILE: Final = "drift.html"


def summary_key(run_id: str) -> str:
    return f"{MONITORING_PREFIX}/{run_id}/{SUMMARY_FILE}"


def html_key(run_id: str) -> str:
    return f"{MONITORING_PREFIX}/{run_id}/{HTML_FILE}"


def build_report(
    collected: CollectedLog,
    windows: Sequence[WindowReport],
    feedback: FeedbackScore | None,
    decision: RetrainDecision,
    consecutive_drift_runs: int,
    config: MonitoringConfig,
    feature_set_version: int,
    has_html: bool,
) -> DriftReport:
    """The run's summary: a run drifted when any compared window did."""
    return DriftReport(
        run_id=collected.run_id,
        created_at=collected.started_at,
        since=collected.since,
        until=collected.until,
        feature_set_version=feature_set_version,
        correction=config.correction,
        alpha=config.alpha,
        windows=list(windows),
        drifted=any(window.drifted for window in compared(windows)),
        consecutive_drift_runs=consecutive_drift_runs,
        feedback=feedback,
        decision=decision,
        html_key=html_key(collected.run_id) if has_html else None,
    )


def store_report(store: ObjectStore, report: DriftReport, html: str | None) -> str:
    """Write drift.html (when there is one) then summary.json; the summary's key.

    The summary goes last: a reader that finds it finds the page it names.
    """
    if html is not None and report.html_key is not None:
        store.put(report.html_key, html.encode())
    key = summary_key(report.run_id)
    store.put(key, report.model_dump_json(indent=1).encode())
    return key
