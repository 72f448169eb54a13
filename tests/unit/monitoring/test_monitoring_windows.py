"""Cutting the log into windows: whole windows per version, the serving version's rest carried,
no prediction lost or counted twice across runs."""

from __future__ import annotations

from datetime import datetime

import pytest
from prediction_log_kit import T0, logged

from greenr.monitoring.collect import NOTHING_YET, period_of
from greenr.monitoring.prediction_log import LoggedPrediction
from greenr.monitoring.windows import cut_windows


def test_whole_windows_of_one_version_and_the_rest_carried() -> None:
    log = [logged(n) for n in range(25)]
    windowing = cut_windows(log, 10)
    assert [len(w.predictions) for w in windowing.windows] == [10, 10]
    assert [w.index for w in windowing.windows] == [0, 1]
    assert windowing.windows[1].predictions[0].id == log[10].id
    assert windowing.carried == 5
    assert windowing.leftover == 0
    assert windowing.until == log[19].created_at


def test_an_exact_number_of_windows_consumes_everything() -> None:
    log = [logged(n) for n in range(20)]
    windowing = cut_windows(log, 10)
    assert (len(windowing.windows), windowing.carried, windowing.until) == (2, 0, log[-1].created_at)


def test_a_window_holds_one_version_only_and_a_retired_versions_rest_is_leftover() -> None:
    old = [logged(n, version="1") for n in range(15)]
    new = [logged(n, version="2") for n in range(15, 37)]
    windowing = cut_windows(old + new, 10)
    assert [(w.model_version, len(w.predictions)) for w in windowing.windows] == [
        ("1", 10),
        ("2", 10),
        ("2", 10),
    ]
    assert all(len({p.model_version for p in w.predictions}) == 1 for w in windowing.windows)
    # Version 1 no longer answers: its 5 extra predictions are consumed, not carried forever.
    assert windowing.leftover == 5
    assert windowing.carried == 2


def test_interleaved_versions_stop_at_the_serving_versions_rest() -> None:
    # Version 2's last window starts before version 1's predictions at 30..39: those are read
    # again next run with version 2's rest, rather than consumed past the point `until` marks.
    log = [logged(n, version="2") for n in range(25)] + [logged(n, version="1") for n in range(30, 40)]
    log += [logged(n, version="2") for n in range(40, 43)]
    windowing = cut_windows(log, 10)
    assert [w.model_version for w in windowing.windows] == ["2", "2"]
    assert windowing.carried == 5 + 10 + 3
    assert windowing.until == log[19].created_at


def test_predictions_at_the_same_time_as_the_cut_are_all_carried() -> None:
    # 12 predictions, the 10th and 11th logged in the same microsecond: a window boundary there
    # would consume one and carry the other, and `until` could not tell them apart.
    log = [logged(n, seconds=min(n, 9)) for n in range(12)]
    windowing = cut_windows(log, 10)
    assert windowing.windows == []
    assert windowing.carried == 12
    assert windowing.until is None


def run_twice(log: list[LoggedPrediction], size: int, split: int) -> tuple[list[str], list[str]]:
    """Two runs: the first sees the log's first `split` rows, the second everything after its until."""
    consumed, _, until = period_of(log[:split], size, None)
    later = [p for p in log if p.created_at > until]
    consumed_again, _, _ = period_of(later, size, until)
    return [p.id for p in consumed], [p.id for p in consumed_again]


@pytest.mark.parametrize("split", [5, 13, 20, 27])
def test_two_runs_never_lose_nor_repeat_a_prediction(split: int) -> None:
    log = [logged(n) for n in range(30)]
    first, second = run_twice(log, 10, split)
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(p.id for p in log)


def test_rows_without_features_are_consumed_and_never_windowed() -> None:
    old = [logged(n, features={}, feature_set_version=None) for n in range(5)]
    log = old + [logged(n) for n in range(5, 17)]
    consumed, windowing, until = period_of(log, 10, None)
    assert len(windowing.windows) == 1
    assert all(p.features for w in windowing.windows for p in w.predictions)
    assert [p.id for p in consumed] == [p.id for p in log[:15]]
    assert until == log[14].created_at


def test_an_empty_period_keeps_its_start() -> None:
    since = datetime(2026, 11, 2, tzinfo=T0.tzinfo)
    assert period_of([], 10, since)[2] == since
    assert period_of([], 10, None)[2] == NOTHING_YET


def test_a_window_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        cut_windows([logged(0)], 0)
