"""The retraining chain runs only on the latest monitoring run's say-so (or --force), and says what it did."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine, migrate
from greenr.monitoring.retraining import (
    MonitoringDecision,
    RetrainingOutcome,
    RetrainingRefused,
    latest_monitoring_decision,
    retraining_reason,
)

AT = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)


def decision(retrain: bool, *reasons: str) -> MonitoringDecision:
    return MonitoringDecision("run-1", AT, retrain, False, list(reasons))


def test_without_a_monitoring_run_the_chain_refuses_unless_forced() -> None:
    with pytest.raises(RetrainingRefused, match=r"no monitoring run yet.*--pipeline monitoring.*--force"):
        retraining_reason(None, force=False)
    assert retraining_reason(None, force=True) == "forced (--force)"


def test_a_no_from_the_policy_is_refused_with_its_reasons() -> None:
    labels = "3 new confirmed label(s) since the last retraining (< 50)"
    said_no = decision(False, labels, "inside the cooldown")
    with pytest.raises(RetrainingRefused) as refused:
        retraining_reason(said_no, force=False)
    message = str(refused.value)
    assert "decided not to retrain" in message
    assert "3 new confirmed label(s)" in message
    assert "inside the cooldown" in message
    assert "2026-11-29 08:30 UTC" in message
    assert retraining_reason(said_no, force=True) == "forced (--force)"


def test_a_yes_from_the_policy_is_the_reason() -> None:
    reason = retraining_reason(decision(True, "60 new confirmed label(s)"), force=False)
    assert reason.startswith("the latest monitoring run run-1")
    assert "decided to retrain (60 new confirmed label(s))" in reason


def test_the_latest_run_is_the_newest_one(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    assert latest_monitoring_decision(engine) is None
    rows = [
        {"id": "old", "started_at": AT, "retrain": True, "reasons": ["drift"]},
        {"id": "new", "started_at": AT.replace(hour=9), "retrain": False, "reasons": ["too few labels"]},
    ]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(
                insert(schema.MonitoringRun).values(
                    **row,
                    finished_at=row["started_at"],
                    since=None,
                    until=row["started_at"],
                    predictions=10,
                    windows=1,
                    drifted=False,
                    forced=False,
                    report_key=None,
                )
            )
    latest = latest_monitoring_decision(engine)
    assert latest is not None
    assert (latest.run_id, latest.retrain, latest.reasons) == ("new", False, ["too few labels"])


def test_the_outcome_ends_with_one_json_line() -> None:
    outcome = RetrainingOutcome(
        reason="forced (--force)",
        dataset_before="ds-a",
        dataset_after="ds-b",
        challenger_version="3",
        gate_decision="rejected",
        gate_reason="challenger f1 0.91 does not beat champion f1 0.93",
        served_version="2",
    )
    lines = outcome.lines()
    assert "dataset version ds-b (new; was ds-a)" in lines
    assert "gate: version 3 rejected: challenger f1 0.91 does not beat champion f1 0.93" in lines
    assert "served: version 2" in lines
    last = json.loads(lines[-1])
    assert (last["new_dataset_version"], last["served_version"]) == (True, "2")
    assert last["gate_decision"] == "rejected"
    unchanged = RetrainingOutcome("forced (--force)", "ds-a", "ds-a", None, None, None, "2").lines()
    assert "unchanged" in unchanged[1]
    assert unchanged[2] == "gate: no new model version was registered"
