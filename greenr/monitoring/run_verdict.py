"""The run's drift verdict: its windows' evidence, corrected across the windows of the run.

Each window is judged alone (`WindowReport.drifted`: a column's p-value, corrected across the
window's columns, at or under alpha). A run of many windows would then almost surely hold a false
alarm (2 of 100 unshifted windows drifted in a measured run of 10 000 predictions), and the retrain
policy counts runs; so the run drifted only when a window's smallest adjusted p-value stays at or
under alpha once corrected again across the run's compared windows (`config.correction`, as
configs/monitoring.yaml says: "after the correction across columns (and windows)"). A real shift
moves most windows with tiny p-values, which survive that correction.
"""

from __future__ import annotations

from collections.abc import Sequence

from greenr.monitoring.comparison import compared
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.drift_tests import adjust_p_values
from greenr.monitoring.report import WindowReport


def window_p_value(window: WindowReport) -> float:
    """The window's evidence: its smallest adjusted p-value (0 or 1 from its verdict if it has none)."""
    p_values = [test.adjusted_p_value for test in window.tests if test.adjusted_p_value is not None]
    if p_values:
        return min(p_values)
    return 0.0 if window.drifted else 1.0


def run_drifted(windows: Sequence[WindowReport], config: MonitoringConfig) -> bool:
    """Whether any compared window still drifts after the correction across the run's windows."""
    checked = compared(windows)
    adjusted = adjust_p_values([window_p_value(window) for window in checked], config.correction)
    return any(p <= config.alpha for p in adjusted)
