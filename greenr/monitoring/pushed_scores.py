"""The drift scores the monitoring run pushes for Prometheus: one score and threshold per column.

A column's score is -log10 of its smallest adjusted p-value over the run's compared windows, and
its threshold -log10(alpha): "score above threshold" is then "drifted", as the Grafana panel
draws it, and a p-value of 1e-6 reads as 6. A test judged on a distance with no p-value pushes
the distance and its threshold as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from greenr.monitoring.comparison import compared
from greenr.monitoring.report import ColumnTest, WindowReport

# An adjusted p-value of exactly 0 (an exact test far in the tail) would be an infinite score.
_SMALLEST_P = 1e-300


def column_score(test: ColumnTest) -> tuple[float, float] | None:
    """(score, threshold) of one test, None when the test gave neither a p-value nor a statistic."""
    if test.adjusted_p_value is not None:
        return -math.log10(max(test.adjusted_p_value, _SMALLEST_P)), -math.log10(test.threshold)
    if test.statistic is not None and math.isfinite(test.statistic):
        return test.statistic, test.threshold
    return None


def drift_scores(windows: Sequence[WindowReport]) -> tuple[dict[str, float], dict[str, float]]:
    """Per column: the worst (highest) score over the compared windows, and its threshold."""
    scores: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    for window in compared(windows):
        for test in window.tests:
            scored = column_score(test)
            if scored is not None and scored[0] >= scores.get(test.column, -math.inf):
                scores[test.column], thresholds[test.column] = scored
    return scores, thresholds
