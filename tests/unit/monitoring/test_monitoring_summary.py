"""The lines a person reads after a monitoring run."""

from __future__ import annotations

from datetime import UTC, datetime

from greenr.monitoring.collect import NOTHING_YET, CollectedLog
from greenr.monitoring.report import DriftReport, RetrainDecision
from greenr.monitoring.summary import render_summary
from greenr.monitoring.windows import Windowing

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_a_first_run_with_only_an_incomplete_window_prints_no_1970_period() -> None:
    collected = CollectedLog(
        run_id="run-1",
        started_at=NOW,
        since=None,
        until=NOTHING_YET,
        consumed=[],
        pending=[],
        without_features=0,
        windowing=Windowing(windows=[], leftover=0, carried=3, until=None),
    )
    report = DriftReport(
        run_id="run-1",
        created_at=NOW,
        since=None,
        until=NOTHING_YET,
        feature_set_version=2,
        correction="fdr_bh",
        alpha=0.05,
        windows=[],
        drifted=False,
        consecutive_drift_runs=0,
        feedback=None,
        decision=RetrainDecision(retrain=False, reasons=["0 new confirmed label(s)"]),
    )
    lines = render_summary(report, collected, "lake/summary.json").splitlines()
    assert lines[0] == (
        "Monitoring run run-1: predictions after the start of the log: none consumed (no complete window yet)"
    )
    assert "1970" not in "\n".join(lines)
    assert "3 carried to the next run (an incomplete window)" in lines[1]
