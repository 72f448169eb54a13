"""This run's retrain decision, from what the earlier runs recorded, and the line the DAG reads."""

from __future__ import annotations

import json
from datetime import datetime

from greenr.monitoring.report import RetrainDecision
from greenr.monitoring.retrain_policy import RetrainPolicy, consecutive_drift_runs, decide_retrain
from greenr.monitoring.run_record import PastRuns, verdicts_with


def decide_for_run(
    policy: RetrainPolicy,
    new_labels: int,
    past: PastRuns,
    compared_windows: int,
    drifted: bool,
    last_retrain_at: datetime | None,
    now: datetime,
    force: bool,
) -> tuple[RetrainDecision, int]:
    """The decision and the drift streak including this run (a run that compared nothing adds no
    verdict); the cooldown runs from `last_retrain_at`, the last retraining that happened."""
    verdicts = verdicts_with(past, compared_windows, drifted)
    decision = decide_retrain(policy, new_labels, verdicts, last_retrain_at, now, force)
    return decision, consecutive_drift_runs(verdicts)


def decision_line(decision: RetrainDecision) -> str:
    """The JSON line the Airflow DAG reads as the run's last line of output (dags/monitoring_decision.py)."""
    return json.dumps({"retrain": decision.retrain, "reasons": list(decision.reasons)})
