"""The retraining chain's rules: whether it may run, and what it says it did.

`python run.py --pipeline retraining [--force]` runs ingestion of the feedback store, training and
deployment, each its own pipeline run, when the latest monitoring run decided to retrain (the
retrain policy, configs/monitoring.yaml) or when forced; otherwise it refuses and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema


class RetrainingRefused(RuntimeError):
    """The retraining chain may not run now; the message says why and what to do."""


@dataclass(frozen=True)
class MonitoringDecision:
    """The retrain decision of one monitoring run, as recorded in `monitoring_runs`."""

    run_id: str
    started_at: datetime
    retrain: bool
    forced: bool
    reasons: list[str]


def latest_monitoring_decision(engine: Engine) -> MonitoringDecision | None:
    """The decision of the newest monitoring run, or None when monitoring never ran."""
    query = select(schema.MonitoringRun).order_by(schema.MonitoringRun.started_at.desc()).limit(1)
    with Session(engine) as session:
        row = session.scalars(query).first()
        if row is None:
            return None
        return MonitoringDecision(row.id, row.started_at, row.retrain, row.forced, list(row.reasons or []))


def retraining_reason(latest: MonitoringDecision | None, force: bool) -> str:
    """Why the chain runs; raises RetrainingRefused with the reason it may not."""
    if force:
        return "forced (--force)"
    if latest is None:
        raise RetrainingRefused(
            "no monitoring run yet, so nothing decided to retrain: run "
            "`python run.py --pipeline monitoring` first, or pass --force"
        )
    said = "; ".join(latest.reasons) or "no reason recorded"
    when = f"monitoring run {latest.run_id} of {latest.started_at:%Y-%m-%d %H:%M} UTC"
    if not latest.retrain:
        raise RetrainingRefused(
            f"the latest {when} decided not to retrain ({said}): pass --force to retrain anyway"
        )
    return f"the latest {when} decided to retrain ({said})"


@dataclass(frozen=True)
class RetrainingOutcome:
    """What one run of the chain did."""

    reason: str
    dataset_before: str | None
    dataset_after: str | None
    challenger_version: str | None
    gate_decision: str | None
    gate_reason: str | None
    served_version: str | None

    def lines(self) -> list[str]:
        """The report a person reads, then one JSON line a scheduler can parse."""
        if self.dataset_after == self.dataset_before:
            dataset = f"dataset version {self.dataset_after} (unchanged: no new photo from feedback)"
        else:
            dataset = f"dataset version {self.dataset_after} (new; was {self.dataset_before or 'none'})"
        if self.challenger_version is None:
            gate = "gate: no new model version was registered"
        else:
            decision, why = self.gate_decision or "undecided", self.gate_reason or "no reason recorded"
            gate = f"gate: version {self.challenger_version} {decision}: {why}"
        served = f"served: version {self.served_version}" if self.served_version else "served: nothing"
        document = {
            "reason": self.reason,
            "dataset_version": self.dataset_after,
            "new_dataset_version": self.dataset_after != self.dataset_before,
            "challenger_version": self.challenger_version,
            "gate_decision": self.gate_decision,
            "gate_reason": self.gate_reason,
            "served_version": self.served_version,
        }
        return [f"retraining: {self.reason}", dataset, gate, served, json.dumps(document, sort_keys=True)]
