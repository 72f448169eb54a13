"""Windows against their version's reference (the real drift tests), skipped with a reason when
they cannot be compared; the scores pushed for Prometheus."""

from __future__ import annotations

import math
import random

import pytest
from prediction_log_kit import feature_row, logged, reference_for

from greenr.features.definitions import feature_set
from greenr.features.reference import FeatureReference
from greenr.monitoring.comparison import (
    ALL_COLUMNS,
    SKIPPED,
    VersionKey,
    compare_windows,
    compared,
    is_skipped,
)
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.drift_tests import compare_window
from greenr.monitoring.pushed_scores import column_score, drift_scores
from greenr.monitoring.report import ColumnTest
from greenr.monitoring.windows import Window

CONFIG = MonitoringConfig(window=50, permutations=199)
NAME = "greenr-classifier"


def window(version: str, shift: float = 0.0, feature_set_version: int | None = None, seed: int = 1) -> Window:
    """50 logged predictions of one version; features of the current feature set unless told."""
    rng = random.Random(seed)
    feature_set_version = feature_set().version if feature_set_version is None else feature_set_version
    rows = [
        logged(n, version=version, features=feature_row(rng, shift), feature_set_version=feature_set_version)
        for n in range(50)
    ]
    return Window(
        index=0,
        model_name=NAME,
        model_version=version,
        feature_set_version=feature_set_version,
        predictions=rows,
    )


def test_same_distribution_passes_and_a_shift_drifts() -> None:
    references = {(NAME, "1"): reference_for(NAME, "1")}
    same, shifted = compare_windows(
        [window("1"), window("1", shift=0.5)], references, feature_set(), CONFIG, compare_window
    )
    assert not same.drifted, [t for t in same.tests if t.drifted]
    assert shifted.drifted
    assert "brightness" in [test.column for test in shifted.tests if test.drifted]
    assert compared([same, shifted]) == [same, shifted]


def test_a_version_without_reference_or_of_another_feature_set_is_skipped_with_its_reason() -> None:
    features = feature_set()
    other_set = reference_for(NAME, "3").model_copy(update={"feature_set_version": features.version + 1})
    references: dict[VersionKey, FeatureReference | str | None] = {
        (NAME, "3"): other_set,
        (NAME, "4"): "s3://b/models/x/v4/feature_reference.json is not a feature reference",
    }
    reports = compare_windows(
        [window("2"), window("3"), window("1", feature_set_version=features.version + 1), window("4")],
        {**references, (NAME, "1"): reference_for(NAME, "1")},
        features,
        CONFIG,
        compare_window,
    )
    assert all(is_skipped(report.tests) and not report.drifted for report in reports)
    notes = [report.tests[0].note or "" for report in reports]
    assert "has no published feature reference" in notes[0]
    assert f"version {features.version + 1}, not {features.name}" in notes[1]
    assert "columns of different versions are never compared" in notes[2]
    assert "is not a feature reference" in notes[3]
    assert compared(reports) == []


def test_a_window_the_drift_tests_refuse_is_skipped_with_their_message() -> None:
    features = feature_set()
    bad = window("1")
    rows = [
        p.model_copy(update={"features": {**(p.features or {}), "brightness": "dark"}})
        for p in bad.predictions
    ]
    [report] = compare_windows(
        [bad.model_copy(update={"predictions": rows})],
        {(NAME, "1"): reference_for(NAME, "1")},
        features,
        CONFIG,
        compare_window,
    )
    assert is_skipped(report.tests)
    assert "brightness" in (report.tests[0].note or "")


def test_one_skipped_column_is_not_a_skipped_window() -> None:
    column = ColumnTest(
        column="brightness",
        test=SKIPPED,
        statistic=None,
        p_value=None,
        adjusted_p_value=None,
        threshold=0.01,
        drifted=False,
        note="no values",
    )
    assert not is_skipped([column])
    assert is_skipped([replace_column(column, ALL_COLUMNS)])


def replace_column(test: ColumnTest, column: str) -> ColumnTest:
    return test.model_copy(update={"column": column})


def test_scores_are_minus_log10_of_the_worst_adjusted_p_value() -> None:
    references = {(NAME, "1"): reference_for(NAME, "1")}
    reports = compare_windows(
        [window("1"), window("1", shift=0.5)], references, feature_set(), CONFIG, compare_window
    )
    scores, thresholds = drift_scores(reports)
    assert thresholds["brightness"] == pytest.approx(2.0)  # alpha 0.01
    assert scores["brightness"] > thresholds["brightness"]
    worst = min(t.adjusted_p_value or 1 for r in reports for t in r.tests if t.column == "brightness")
    assert scores["brightness"] == pytest.approx(-math.log10(worst))
    # A drifted verdict and "score above threshold" agree on every column.
    for report in reports:
        for test in report.tests:
            scored = column_score(test)
            if scored is not None and test.adjusted_p_value is not None:
                assert (scored[0] > scored[1]) == test.drifted or test.adjusted_p_value == test.threshold


def test_a_zero_p_value_has_a_finite_score() -> None:
    test = ColumnTest(
        column="c",
        test="exact",
        statistic=None,
        p_value=0.0,
        adjusted_p_value=0.0,
        threshold=0.01,
        drifted=True,
    )
    assert column_score(test) == (300.0, 2.0)
