"""Monitoring data for the tests of the Monitoring API and page: catalog rows and drift reports.

The monitoring pipeline writes these in production; the tests write them themselves, in the
shapes of the contract (`greenr.catalog.schema.MonitoringRun`, `greenr.monitoring.report.DriftReport`)
and with the pipeline's own writer (`greenr.monitoring.report_store`), so that the API reads back
what the pipeline writes, from a real database and a real object store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.monitoring.report import (
    ColumnTest,
    DriftReport,
    FeedbackScore,
    RetrainDecision,
    WindowReport,
)
from greenr.monitoring.report_store import html_key, summary_key
from greenr.monitoring.report_store import store_report as pipeline_store_report
from greenr.storage.object_store import ObjectStore

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
DRIFT_HTML_TEXT = "<!doctype html><html><body><h1>whylogs drift report</h1></body></html>"
DRIFT_HTML = DRIFT_HTML_TEXT.encode()


def column(name: str, p_value: float, test: str = "ks", threshold: float = 0.05) -> ColumnTest:
    """One column's test; drifted when its (adjusted) p-value is under the threshold."""
    return ColumnTest(
        column=name,
        test=test,
        statistic=round(1.0 - p_value, 3),
        p_value=p_value,
        adjusted_p_value=min(1.0, p_value * 3),
        threshold=threshold,
        drifted=min(1.0, p_value * 3) < threshold,
    )


def window(index: int, *tests: ColumnTest, start: datetime = T0) -> WindowReport:
    begin = start + timedelta(hours=index)
    return WindowReport(
        index=index,
        start=begin,
        end=begin + timedelta(minutes=50),
        predictions=100,
        model_name="greenr-classifier",
        model_version="3",
        tests=list(tests),
        drifted=any(test.drifted for test in tests),
    )


def sample_report(run_id: str, *, with_html: bool = True, created_at: datetime = T0) -> DriftReport:
    """Two windows of three columns: the second window's brightness drifted; retrain decided."""
    windows = [
        window(
            0, column("brightness", 0.40), column("label", 0.70, "chi2"), column("embedding", 0.50, "mmd")
        ),
        window(
            1, column("brightness", 0.001), column("label", 0.30, "chi2"), column("embedding", 0.20, "mmd")
        ),
    ]
    return DriftReport(
        run_id=run_id,
        created_at=created_at,
        since=created_at - timedelta(days=1),
        until=created_at,
        feature_set_version=1,
        correction="bonferroni",
        alpha=0.05,
        windows=windows,
        drifted=any(item.drifted for item in windows),
        consecutive_drift_runs=2,
        feedback=FeedbackScore(
            labelled=10,
            accuracy=0.8,
            f1=0.78,
            confusion={"dandelion": {"dandelion": 4, "grass": 1}, "grass": {"dandelion": 1, "grass": 4}},
            test_f1=0.93,
        ),
        decision=RetrainDecision(
            retrain=True, forced=False, reasons=["drift in 2 consecutive runs (policy: 2)", "cooldown over"]
        ),
        html_key=html_key(run_id) if with_html else None,
    )


def run_row(
    report: DriftReport | None,
    *,
    run_id: str | None = None,
    started_at: datetime = T0,
    report_key: str | None = None,
) -> schema.MonitoringRun:
    """The catalog row of a run; with a report, its verdict, decision and key are the report's."""
    identifier = report.run_id if report is not None else (run_id or str(uuid.uuid4()))
    return schema.MonitoringRun(
        id=identifier,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=42),
        since=None,
        until=started_at,
        predictions=200 if report is not None else 0,
        windows=len(report.windows) if report is not None else 0,
        drifted=report.drifted if report is not None else False,
        retrain=report.decision.retrain if report is not None else False,
        forced=False,
        reasons=list(report.decision.reasons)
        if report is not None
        else ["no predictions since the last run"],
        report_key=report_key if report_key is not None else (summary_key(identifier) if report else None),
    )


def store_report(objects: ObjectStore, report: DriftReport) -> None:
    """Write the report's summary (and its HTML, when it names one) as the pipeline does."""
    key = pipeline_store_report(objects, report, DRIFT_HTML_TEXT if report.html_key is not None else None)
    assert key == summary_key(report.run_id)


def add_rows(session: Session, *rows: object) -> None:
    """Insert catalog rows in one transaction."""
    with session.begin():
        session.add_all(rows)
