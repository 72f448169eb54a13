"""Recording runs in `monitoring_runs` and deciding from them: where the next run starts, drift
streaks (runs that compared nothing give no verdict), the cooldown since the last retraining."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from greenr.catalog.database import open_catalog
from greenr.monitoring.comparison import skipped_test
from greenr.monitoring.decision import decide_for_run, decision_line
from greenr.monitoring.report import ColumnTest, DriftReport, RetrainDecision, WindowReport
from greenr.monitoring.retrain_policy import RetrainPolicy
from greenr.monitoring.run_record import past_runs, record_run, run_row
from greenr.settings import REPO_ROOT

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
POLICY = RetrainPolicy(min_new_labels=50, drift_runs=2, cooldown_days=7)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}")


def window(drifted: bool | None) -> WindowReport:
    """A compared window (drifted or not), or a skipped one (None)."""
    if drifted is None:
        tests = [skipped_test("no reference", 0.01)]
    else:
        tests = [
            ColumnTest(
                column="brightness",
                test="ks",
                statistic=0.5,
                p_value=1e-4,
                adjusted_p_value=1e-3 if drifted else 0.5,
                threshold=0.01,
                drifted=drifted,
            )
        ]
    return WindowReport(
        index=0,
        start=DAY0,
        end=DAY0,
        predictions=100,
        model_name="m",
        model_version="1",
        tests=tests,
        drifted=bool(drifted),
    )


def record(engine: Engine, day: int, windows: list[WindowReport], retrain: bool = False) -> None:
    started = DAY0 + timedelta(days=day)
    report = DriftReport(
        run_id=f"run-{day}",
        created_at=started,
        since=None,
        until=started - timedelta(hours=1),
        feature_set_version=1,
        correction="fdr_bh",
        alpha=0.01,
        windows=windows,
        drifted=any(w.drifted for w in windows),
        consecutive_drift_runs=0,
        feedback=None,
        decision=RetrainDecision(retrain=retrain, reasons=["test"]),
    )
    record_run(engine, run_row(report, started, started, 100, f"processed/monitoring/run-{day}/summary.json"))


def test_no_run_yet(engine: Engine) -> None:
    past = past_runs(engine)
    assert (past.last_until, past.drift_verdicts) == (None, [])


def test_the_next_run_starts_where_the_latest_ended_and_skipped_windows_give_no_verdict(
    engine: Engine,
) -> None:
    record(engine, 0, [window(True)])
    record(engine, 1, [window(None)])  # compared nothing: neither extends nor breaks the streak
    past = past_runs(engine)
    assert past.last_until == DAY0 + timedelta(days=1, hours=-1)
    assert past.drift_verdicts == [True]
    decision, streak = decide_for_run(POLICY, 0, past, 1, True, None, DAY0 + timedelta(days=2), force=False)
    assert (decision.retrain, streak) == (True, 2)
    assert "drift in 2 consecutive monitoring run(s) (>= 2)" in decision.reasons


def test_a_run_without_drift_breaks_the_streak(engine: Engine) -> None:
    record(engine, 0, [window(True)])
    record(engine, 1, [window(False)])
    decision, streak = decide_for_run(
        POLICY, 0, past_runs(engine), 1, True, None, DAY0 + timedelta(days=2), False
    )
    assert (decision.retrain, streak) == (False, 1)


def test_the_last_retraining_starts_the_cooldown_and_force_overrides_it(engine: Engine) -> None:
    record(engine, 3, [window(True)])
    now = DAY0 + timedelta(days=4)
    decision, _ = decide_for_run(POLICY, 80, past_runs(engine), 1, True, DAY0, now, force=False)
    assert not decision.retrain
    assert any("inside the 7-day cooldown" in reason for reason in decision.reasons)
    forced, _ = decide_for_run(POLICY, 0, past_runs(engine), 0, False, DAY0, now, force=True)
    assert (forced.retrain, forced.forced, forced.reasons[0]) == (True, True, "forced (--force)")


def test_a_decision_to_retrain_that_nobody_acted_on_holds_nothing_back(engine: Engine) -> None:
    record(engine, 0, [window(True)], retrain=True)  # decided, but the chain never ran
    decision, _ = decide_for_run(
        POLICY, 80, past_runs(engine), 1, True, None, DAY0 + timedelta(days=1), False
    )
    assert decision.retrain
    assert "no retraining recorded yet: no cooldown" in decision.reasons


@pytest.mark.parametrize(("retrain", "task"), [(True, "retrain"), (False, "keep_model")])
def test_the_decision_line_is_what_the_dag_reads(retrain: bool, task: str) -> None:
    line = decision_line(RetrainDecision(retrain=retrain, reasons=["a", "b"]))
    assert "\n" not in line
    assert json.loads(line) == {"retrain": retrain, "reasons": ["a", "b"]}
    # The DAG's own reader (dags/ is not a package: load the file as Airflow's parser does).
    spec = importlib.util.spec_from_file_location(
        "monitoring_decision", REPO_ROOT / "dags" / "monitoring_decision.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.choose_after_monitoring(line) == task
