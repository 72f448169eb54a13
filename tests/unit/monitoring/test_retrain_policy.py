"""The retrain policy: enough labels or persistent drift, never inside the cooldown, unless forced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenr.monitoring.config import load_monitoring_config
from greenr.monitoring.retrain_policy import RetrainPolicy, consecutive_drift_runs, decide_retrain

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
POLICY = RetrainPolicy(min_new_labels=50, drift_runs=2, cooldown_days=7)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [([], 0), ([False], 0), ([True], 1), ([True, True, False], 0), ([False, True, True], 2)],
)
def test_consecutive_drift_runs_count_back_from_the_newest(verdicts: list[bool], expected: int) -> None:
    assert consecutive_drift_runs(verdicts) == expected


@pytest.mark.parametrize(
    ("labels", "verdicts", "last_days_ago", "retrain"),
    [
        (50, [], None, True),  # enough labels, never retrained
        (49, [], None, False),  # one label short
        (0, [True, True], 8, True),  # drift twice in a row, cooldown over
        (0, [True, False, True], 8, False),  # drift, but not in consecutive runs
        (500, [True, True], 6.9, False),  # everything says retrain, but inside the cooldown
        (50, [], 7, True),  # the cooldown is over at exactly 7 days
    ],
)
def test_decisions(labels: int, verdicts: list[bool], last_days_ago: float | None, retrain: bool) -> None:
    last = None if last_days_ago is None else NOW - timedelta(days=last_days_ago)
    decision = decide_retrain(POLICY, labels, verdicts, last, NOW)
    assert decision.retrain is retrain
    assert not decision.forced
    assert len(decision.reasons) == 3
    assert f"{labels} new confirmed label(s)" in decision.reasons[0]


def test_force_overrides_the_cooldown_and_says_so() -> None:
    decision = decide_retrain(POLICY, 0, [], NOW - timedelta(hours=1), NOW, force=True)
    assert decision.retrain
    assert decision.forced
    assert decision.reasons[0] == "forced (--force)"
    assert "inside the 7-day cooldown" in decision.reasons[-1]


def test_the_committed_monitoring_config_loads() -> None:
    config = load_monitoring_config()
    assert config.retrain == POLICY
    assert config.window == 100
