"""The bodies of the API's /monitoring/... answers, as the web app reads them.

The web app knows the API by HTTP only (it does not import greenr.api or greenr.monitoring), so
these mirror the API's documented shapes (GET /monitoring/summary, /monitoring/reports/{run_id});
unknown fields are ignored so that the API can grow without breaking the page.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, coerce_numbers_to_str=True, protected_namespaces=()
    )


class ClassCount(_Body):
    """Predictions of one class in the hour or day that starts at `start`."""

    start: datetime
    label: str
    count: int


class ConfidenceBin(_Body):
    """Predictions with a confidence in [low, high), per class."""

    low: float
    high: float
    counts: dict[str, int] = Field(default_factory=dict)


class FeedbackPoint(_Body):
    """Feedback answers in one hour or day, and how many said the model was right."""

    start: datetime
    labelled: int
    correct: int
    accuracy: float


class MonitoringRun(_Body):
    """One run of the monitoring pipeline: its verdict and retrain decision."""

    id: str
    started_at: datetime
    finished_at: datetime | None = None
    predictions: int = 0
    windows: int = 0
    drifted: bool
    retrain: bool
    forced: bool = False
    reasons: list[str] = Field(default_factory=list)
    report_key: str | None = None


class MonitoringSummary(_Body):
    """Body of GET /monitoring/summary."""

    since: datetime
    until: datetime
    bucket: str
    predictions: int
    per_class: list[ClassCount]
    confidence: list[ConfidenceBin]
    feedback: list[FeedbackPoint]
    runs: list[MonitoringRun]
    latest_report_run_id: str | None = None


class ColumnTest(_Body):
    """One column of one window against the reference."""

    column: str
    test: str
    statistic: float | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = None
    threshold: float
    drifted: bool
    note: str | None = None


class WindowReport(_Body):
    """A window of consecutive predictions of one model version."""

    index: int
    start: datetime
    end: datetime
    predictions: int
    model_version: str
    tests: list[ColumnTest]
    drifted: bool


class FeedbackScore(_Body):
    """How the predictions that got feedback fared, against the version's test F1."""

    labelled: int
    accuracy: float | None = None
    f1: float | None = None
    test_f1: float | None = None


class RetrainDecision(_Body):
    """Whether to retrain, and why."""

    retrain: bool
    forced: bool = False
    reasons: list[str] = Field(default_factory=list)


class DriftReport(_Body):
    """Body of GET /monitoring/reports/{run_id}: one monitoring run's drift report."""

    run_id: str
    created_at: datetime
    correction: str
    alpha: float
    windows: list[WindowReport]
    drifted: bool
    consecutive_drift_runs: int = 0
    feedback: FeedbackScore | None = None
    decision: RetrainDecision
    html_key: str | None = None
