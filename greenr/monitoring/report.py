"""The monitoring pipeline's drift report, as JSON (`summary.json` under processed/monitoring/).

One document per monitoring run: each window of predictions compared with the reference of the
model version that answered it, column by column, the feedback score, and the retrain decision.
The web app's Monitoring page, the Prometheus gauges and the Airflow DAG read it; the whylogs
HTML report is stored next to it (`html_key`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

MONITORING_PREFIX: Final = "processed/monitoring"
"""Where each run's report goes: processed/monitoring/<run id>/{summary.json, drift.html}."""

Correction = Literal["bonferroni", "fdr_bh"]


class ColumnTest(BaseModel):
    """One column of one window against the reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    test: str = Field(description="ks, chi2, binomial, exact, mmd, ... (which test was used and why)")
    statistic: float | None = Field(description="the test statistic or distance; None if not computable")
    p_value: float | None
    adjusted_p_value: float | None = Field(description="after the correction across columns")
    threshold: float = Field(description="the level the (adjusted) p-value or distance is judged against")
    drifted: bool
    note: str | None = Field(None, description="why a test was skipped or changed (e.g. expected count < 5)")


class WindowReport(BaseModel):
    """A window of consecutive predictions of one model version."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    index: int
    start: datetime
    end: datetime
    predictions: int
    model_name: str
    model_version: str
    tests: list[ColumnTest]
    drifted: bool


class FeedbackScore(BaseModel):
    """How the predictions that got feedback fared, against the version's test F1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labelled: int
    late: int = Field(0, description="of them, predictions of earlier periods answered since the last run")
    accuracy: float | None
    f1: float | None
    confusion: dict[str, dict[str, int]] = Field(description="true label -> predicted label -> count")
    test_f1: float | None = Field(description="the serving version's F1 on its test split")


class RetrainDecision(BaseModel):
    """Whether to retrain, and every reason the policy weighed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retrain: bool
    forced: bool = False
    reasons: list[str]


class DriftReport(BaseModel):
    """The summary of one monitoring run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    created_at: datetime
    since: datetime | None
    until: datetime
    feature_set_version: int
    correction: Correction
    alpha: float
    windows: list[WindowReport]
    drifted: bool = Field(
        description="the run's verdict: a window still drifted after the correction across the run's "
        "windows (greenr.monitoring.run_verdict)"
    )
    consecutive_drift_runs: int
    feedback: FeedbackScore | None
    decision: RetrainDecision
    html_key: str | None = Field(None, description="object key of the whylogs HTML drift report")
