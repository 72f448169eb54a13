"""The run's verdict corrects across its windows: a few lone false alarms among many windows are
not a drifted run; a shift that moves most windows is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from greenr.monitoring.comparison import skipped_test
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.report import ColumnTest, WindowReport
from greenr.monitoring.run_verdict import run_drifted, window_p_value

T = datetime(2026, 11, 1, tzinfo=UTC)


def window(p: float | None, alpha: float = 0.01) -> WindowReport:
    tests = (
        [skipped_test("no reference", alpha)]
        if p is None
        else [
            ColumnTest(
                column="brightness",
                test="ks",
                statistic=0.3,
                p_value=p,
                adjusted_p_value=p,
                threshold=alpha,
                drifted=p <= alpha,
            ),
            ColumnTest(
                column="label",
                test="chi2",
                statistic=0.1,
                p_value=0.9,
                adjusted_p_value=0.9,
                threshold=alpha,
                drifted=False,
            ),
        ]
    )
    return WindowReport(
        index=0,
        start=T,
        end=T,
        predictions=100,
        model_name="m",
        model_version="1",
        tests=tests,
        drifted=any(t.drifted for t in tests),
    )


@pytest.mark.parametrize("correction", ["fdr_bh", "bonferroni"])
def test_one_window_is_judged_as_it_is(correction: str) -> None:
    config = MonitoringConfig.model_validate({"correction": correction})
    assert run_drifted([window(0.005)], config)
    assert not run_drifted([window(0.02)], config)


@pytest.mark.parametrize("correction", ["fdr_bh", "bonferroni"])
def test_two_lone_alarms_in_a_hundred_windows_are_no_drift(correction: str) -> None:
    config = MonitoringConfig.model_validate({"correction": correction})
    windows = [window(0.005), window(0.008)] + [window(0.5) for _ in range(98)]
    assert sum(w.drifted for w in windows) == 2
    assert not run_drifted(windows, config)


def test_a_shift_that_moves_most_windows_is_drift() -> None:
    # 5e-4 is the floor of a 2000-permutation test: Benjamini-Hochberg keeps it when most windows
    # have it, whereas Bonferroni over 100 windows could never reach alpha 0.01 with it.
    windows = [window(5e-4) for _ in range(90)] + [window(0.3) for _ in range(10)]
    assert run_drifted(windows, MonitoringConfig(correction="fdr_bh"))
    assert not run_drifted(windows, MonitoringConfig(correction="bonferroni"))


def test_skipped_windows_give_no_evidence() -> None:
    assert not run_drifted([window(None), window(None)], MonitoringConfig())
    assert window_p_value(window(0.2)) == 0.2
