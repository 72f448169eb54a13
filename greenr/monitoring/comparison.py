"""Each window against the reference of the model version that answered it, or why it was not.

A window is never compared with a reference of another feature set version, nor without one: it
is reported as skipped, as one `ColumnTest` on column "*" whose test is "skipped" and whose note
says why (the report keeps one shape for every window; a skipped window never counts as drifted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from greenr.features.definitions import FeatureSet
from greenr.features.reference import FeatureReference, FeatureValue
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.drift_tests import DriftTestError
from greenr.monitoring.report import ColumnTest, WindowReport
from greenr.monitoring.windows import Window

SKIPPED: Final = "skipped"
"""The `test` of the one ColumnTest of a window that was not compared."""
ALL_COLUMNS: Final = "*"
"""Its `column`: the whole window (a single skipped column keeps its own name)."""

CompareWindow = Callable[
    [Sequence[Mapping[str, FeatureValue]], FeatureReference, FeatureSet, MonitoringConfig], list[ColumnTest]
]
"""greenr.monitoring.drift_tests.compare_window's signature."""

VersionKey = tuple[str, str]


def is_skipped(tests: Sequence[ColumnTest]) -> bool:
    """Whether a window's tests say the window was not compared."""
    return len(tests) == 1 and tests[0].column == ALL_COLUMNS and tests[0].test == SKIPPED


def skip_reason(window: Window, reference: FeatureReference | str | None, features: FeatureSet) -> str | None:
    """Why `window` cannot be compared with `reference`, None when it can.

    A str `reference` is the reason it could not be read.
    """
    version = f"{window.model_name} version {window.model_version}"
    if isinstance(reference, str):
        return reference
    if reference is None:
        return f"{version} has no published feature reference, so there is nothing to compare with"
    if window.feature_set_version != features.version:
        return (
            f"the window's features follow feature set version {window.feature_set_version}, this "
            f"monitoring reads version {features.version}: columns of different versions are never compared"
        )
    if not reference.compatible_with(features):
        return (
            f"the reference of {version} was computed with {reference.feature_set_name} "
            f"version {reference.feature_set_version}, not {features.name} version {features.version}"
        )
    return None


def skipped_test(reason: str, alpha: float) -> ColumnTest:
    """The one test of a window that was not compared."""
    return ColumnTest(
        column=ALL_COLUMNS,
        test=SKIPPED,
        statistic=None,
        p_value=None,
        adjusted_p_value=None,
        threshold=alpha,
        drifted=False,
        note=reason,
    )


def window_tests(
    window: Window,
    reference: FeatureReference | str | None,
    features: FeatureSet,
    config: MonitoringConfig,
    compare: CompareWindow,
) -> list[ColumnTest]:
    """The window's column tests, or the one 'skipped' test saying why there are none."""
    reason = skip_reason(window, reference, features)
    if reason is not None or not isinstance(reference, FeatureReference):
        return [skipped_test(reason or "no reference", config.alpha)]
    try:
        return compare([p.features or {} for p in window.predictions], reference, features, config)
    except DriftTestError as error:
        return [skipped_test(str(error), config.alpha)]


def compare_windows(
    windows: Sequence[Window],
    references: Mapping[VersionKey, FeatureReference | str | None],
    features: FeatureSet,
    config: MonitoringConfig,
    compare: CompareWindow,
) -> list[WindowReport]:
    """One report per window (see `window_tests`); `references` by (model name, version)."""
    reports = []
    for window in windows:
        reference = references.get((window.model_name, window.model_version))
        tests = window_tests(window, reference, features, config, compare)
        reports.append(
            WindowReport(
                index=window.index,
                start=window.start,
                end=window.end,
                predictions=len(window.predictions),
                model_name=window.model_name,
                model_version=window.model_version,
                tests=tests,
                drifted=any(test.drifted for test in tests),
            )
        )
    return reports


def compared(windows: Sequence[WindowReport]) -> list[WindowReport]:
    """The windows that were compared with a reference (skipped ones left out)."""
    return [window for window in windows if not is_skipped(window.tests)]
