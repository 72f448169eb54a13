"""Step: write the drift report (summary.json, whylogs' drift.html) under processed/monitoring/<run id>/."""

from typing import Annotated

from zenml import step
from zenml.types import HTMLString

from greenr.features.definitions import feature_set
from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.comparison import compared
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.drift_html import drift_report_html
from greenr.monitoring.published import published_reference
from greenr.monitoring.report import DriftReport, FeedbackScore, RetrainDecision, WindowReport
from greenr.monitoring.report_store import build_report, store_report
from greenr.resources import object_store
from greenr.settings import get_settings


@step
def write_report_step(
    collected: CollectedLog,
    windows: list[WindowReport],
    feedback: FeedbackScore | None,
    decision: RetrainDecision,
    consecutive_drift_runs: int,
    config: MonitoringConfig,
) -> tuple[Annotated[DriftReport, "drift_report"], Annotated[HTMLString, "drift_report_html"]]:
    """The JSON summary, and whylogs' page for the newest compared model version (the serving one)."""
    store = object_store(get_settings())
    features = feature_set()
    html = None
    checked = compared(windows)
    if checked:
        newest = checked[-1]
        reference = published_reference(store, newest.model_name, newest.model_version)
        rows = [
            p.features or {}
            for window in collected.windowing.windows
            if (window.model_name, window.model_version) == (newest.model_name, newest.model_version)
            for p in window.predictions
        ]
        if reference is not None:
            html = drift_report_html(rows, reference, features.names())
    report = build_report(
        collected,
        windows,
        feedback,
        decision,
        consecutive_drift_runs,
        config,
        features.version,
        html is not None,
    )
    store_report(store, report, html)
    return report, HTMLString(html or "<p>No window was compared with a reference in this run.</p>")
