"""When to retrain: enough new confirmed labels, or drift that persists; never inside a cooldown.

A pure function of what happened, so that the monitoring pipeline, the Airflow DAG and the tests
all decide the same way; every reason it weighed is returned, to be recorded and shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from greenr.monitoring.report import RetrainDecision


class RetrainPolicy(BaseModel):
    """The `retrain` section of configs/monitoring.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_new_labels: int = Field(50, ge=1, description="confirmed labels since the last retraining")
    drift_runs: int = Field(2, ge=1, description="consecutive monitoring runs with a drift verdict")
    cooldown_days: float = Field(7.0, ge=0, description="no retraining this soon after the last one")


def consecutive_drift_runs(verdicts: Sequence[bool]) -> int:
    """How many runs in a row, ending with the newest (last), gave a drift verdict."""
    count = 0
    for drifted in reversed(verdicts):
        if not drifted:
            break
        count += 1
    return count


def decide_retrain(
    policy: RetrainPolicy,
    new_labels: int,
    drift_verdicts: Sequence[bool],
    last_retrain_at: datetime | None,
    now: datetime,
    force: bool = False,
) -> RetrainDecision:
    """Retrain when (labels >= N or drift in K consecutive runs) and the cooldown is over, or forced.

    `drift_verdicts` are the monitoring runs' verdicts, oldest first, the current run last.
    """
    reasons = []
    enough_labels = new_labels >= policy.min_new_labels
    reasons.append(
        f"{new_labels} new confirmed label(s) since the last retraining "
        f"({'>=' if enough_labels else '<'} {policy.min_new_labels})"
    )
    streak = consecutive_drift_runs(drift_verdicts)
    persistent_drift = streak >= policy.drift_runs
    reasons.append(
        f"drift in {streak} consecutive monitoring run(s) "
        f"({'>=' if persistent_drift else '<'} {policy.drift_runs})"
    )
    cooling = last_retrain_at is not None and now - last_retrain_at < timedelta(days=policy.cooldown_days)
    if last_retrain_at is None:
        reasons.append("no retraining recorded yet: no cooldown")
    else:
        ago = (now - last_retrain_at).total_seconds() / 86400
        reasons.append(
            f"last retraining {ago:.1f} day(s) ago "
            f"({'inside' if cooling else 'past'} the {policy.cooldown_days:g}-day cooldown)"
        )
    if force:
        return RetrainDecision(retrain=True, forced=True, reasons=["forced (--force)", *reasons])
    return RetrainDecision(retrain=(enough_labels or persistent_drift) and not cooling, reasons=reasons)
