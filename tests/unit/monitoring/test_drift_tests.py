"""The drift tests on synthetic feature rows: same distribution, shifted columns, small class-share
tables, missing columns and the corrections across columns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from greenr.contracts import LABELS
from greenr.features.definitions import FeatureSet, feature_set
from greenr.features.reference import FeatureReference, FeatureValue, ReferenceRow
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.drift_tests import (
    EMBEDDING_COLUMN,
    DriftTestError,
    adjust_p_values,
    class_share_test,
    compare_window,
    mmd_permutation_test,
)
from greenr.monitoring.report import Correction

CONFIG = MonitoringConfig()


def feature_rows(
    rng: np.random.Generator,
    n: int,
    features: FeatureSet,
    shift: dict[str, float] | None = None,
    dandelion: float = 0.5,
) -> list[dict[str, FeatureValue]]:
    """n synthetic rows: numeric image columns ~ N(0.5, 0.1), embedding ~ N(0, 1), outputs from
    a random label; `shift` adds to a column's values."""
    rows: list[dict[str, FeatureValue]] = []
    for _ in range(n):
        label = LABELS[0] if rng.random() < dandelion else LABELS[1]
        p = float(np.clip(rng.normal(0.85 if label == LABELS[0] else 0.15, 0.1), 0, 1))
        row: dict[str, FeatureValue] = {}
        for column in features.columns:
            if column.source == "image" and not column.numeric:
                row[column.name] = "normal"  # jpeg_compression: every upload a usual JPEG
            elif column.source == "image":
                row[column.name] = float(rng.normal(0.5, 0.1))
            elif column.source == "embedding":
                row[column.name] = float(rng.normal(0.0, 1.0))
        row.update({"p_dandelion": p, "confidence": max(p, 1 - p), "label": label})
        for name in ("width", "height"):
            row[name] = int(rng.integers(150, 500))
        for name, delta in (shift or {}).items():
            row[name] = float(row[name]) + delta  # type: ignore[arg-type]
        rows.append(row)
    return rows


def reference_of(
    rows: list[dict[str, FeatureValue]], features: FeatureSet, validation: int
) -> FeatureReference:
    """A reference whose last `validation` rows are validation rows (output columns kept there only)."""
    outputs = set(features.names("output"))
    reference_rows = []
    for index, row in enumerate(rows):
        split = "validation" if index >= len(rows) - validation else "train"
        kept = {k: (v if split == "validation" or k not in outputs else None) for k, v in row.items()}
        reference_rows.append(ReferenceRow(split=split, label=str(row["label"]), features=kept))
    return FeatureReference(
        feature_set_name=features.name,
        feature_set_version=features.version,
        column_versions=features.column_versions(),
        rows=reference_rows,
    )


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return feature_set()


@pytest.fixture(scope="module")
def reference(features: FeatureSet) -> FeatureReference:
    return reference_of(feature_rows(np.random.default_rng(1), 400, features), features, validation=150)


def by_column(tests: list[Any]) -> dict[str, Any]:
    return {t.column: t for t in tests}


def test_a_window_of_the_reference_distribution_does_not_drift(
    features: FeatureSet, reference: FeatureReference
) -> None:
    tests = compare_window(feature_rows(np.random.default_rng(2), 100, features), reference, features, CONFIG)
    assert not any(t.drifted for t in tests), [t for t in tests if t.drifted]
    names = {t.column for t in tests}
    # Every non-embedding column once, plus the joint embedding test.
    assert names == set(features.names()) - set(features.names("embedding")) | {EMBEDDING_COLUMN}
    assert all(t.p_value is not None for t in tests)
    assert all((t.adjusted_p_value is None) == (t.column in CONFIG.informational_columns) for t in tests)
    assert all(
        t.adjusted_p_value >= t.p_value
        for t in tests
        if t.adjusted_p_value is not None and t.p_value is not None
    )


def test_a_shifted_mean_drifts_that_column_only(features: FeatureSet, reference: FeatureReference) -> None:
    window = feature_rows(np.random.default_rng(3), 100, features, shift={"brightness": 0.1})
    tests = by_column(compare_window(window, reference, features, CONFIG))
    assert tests["brightness"].drifted
    assert tests["brightness"].test == "ks"
    assert tests["brightness"].adjusted_p_value <= CONFIG.alpha
    assert [name for name, t in tests.items() if t.drifted] == ["brightness"]


def test_a_shifted_embedding_drifts_the_joint_test_and_the_column_with_ks(
    features: FeatureSet, reference: FeatureReference
) -> None:
    window = feature_rows(np.random.default_rng(4), 100, features, shift={"embedding_pc2": 0.8})
    joint = by_column(compare_window(window, reference, features, CONFIG))
    assert joint[EMBEDDING_COLUMN].drifted
    assert joint[EMBEDDING_COLUMN].test == "mmd"
    per_column = by_column(
        compare_window(window, reference, features, CONFIG.model_copy(update={"embedding_test": "ks"}))
    )
    assert EMBEDDING_COLUMN not in per_column
    assert per_column["embedding_pc2"].drifted
    assert not per_column["embedding_pc1"].drifted


def test_the_permutation_tests_are_reproducible(features: FeatureSet, reference: FeatureReference) -> None:
    window = feature_rows(np.random.default_rng(5), 60, features, shift={"embedding_pc1": 0.3})
    first = compare_window(window, reference, features, CONFIG)
    assert compare_window(window, reference, features, CONFIG) == first


def test_the_mmd_p_value_floor_is_one_over_permutations_plus_one() -> None:
    rng = np.random.default_rng(6)
    far = mmd_permutation_test(rng.normal(5, 1, (30, 3)), rng.normal(0, 1, (80, 3)), rng, 199)
    assert far[1] == pytest.approx(1 / 200)
    same = mmd_permutation_test(rng.normal(0, 1, (30, 3)), rng.normal(0, 1, (80, 3)), rng, 199)
    assert same[1] > 0.05
    assert same[0] < far[0]


def test_a_small_class_share_table_uses_the_exact_test_never_an_infinite_statistic() -> None:
    rng = np.random.default_rng(7)
    # Reference all dandelion, window of 6 all grass: an expected count is 0 for whylogs' chi-square.
    test, statistic, p_value, note = class_share_test(["grass"] * 6, ["dandelion"] * 60, rng, 500)
    assert test == "fisher_exact"
    assert note is not None
    assert "< 5" in note
    assert math.isfinite(statistic)
    assert statistic == pytest.approx(1.0)
    assert p_value < 1e-6
    # Same shares, tiny window: exact test, no drift.
    test, statistic, p_value, _ = class_share_test(
        ["dandelion", "grass"], ["dandelion", "grass"] * 30, rng, 500
    )
    assert test == "fisher_exact"
    assert statistic == pytest.approx(0.0)
    assert p_value == pytest.approx(1.0)


def test_a_large_class_share_table_uses_chi_square() -> None:
    rng = np.random.default_rng(8)
    test, statistic, p_value, note = class_share_test(
        ["dandelion"] * 90 + ["grass"] * 10, ["dandelion", "grass"] * 40, rng, 500
    )
    assert test == "chi2"
    assert note is None
    assert statistic > 20
    assert p_value < 1e-5


def test_a_small_table_of_three_classes_uses_a_permutation_test() -> None:
    rng = np.random.default_rng(9)
    test, statistic, p_value, note = class_share_test(["a", "b", "c"], ["a", "b"] * 30, rng, 500)
    assert test == "chi2_permutation"
    assert note is not None
    assert math.isfinite(statistic)
    assert 0 < p_value <= 1
    assert class_share_test(["c"] * 8, ["a", "b"] * 30, rng, 500)[2] == pytest.approx(1 / 501)


def test_the_label_column_falls_back_in_a_small_window(
    features: FeatureSet, reference: FeatureReference
) -> None:
    window = feature_rows(np.random.default_rng(10), 8, features, dandelion=1.0)
    label = by_column(compare_window(window, reference, features, CONFIG))["label"]
    assert label.test == "fisher_exact"
    assert label.statistic is not None
    assert math.isfinite(label.statistic)


def test_a_class_mix_drifts_the_label(features: FeatureSet, reference: FeatureReference) -> None:
    window = feature_rows(np.random.default_rng(11), 100, features, dandelion=0.9)
    tests = by_column(compare_window(window, reference, features, CONFIG))
    assert tests["label"].drifted
    assert tests["label"].test == "chi2"


def test_columns_missing_on_either_side_are_skipped_not_drifted(
    features: FeatureSet, reference: FeatureReference
) -> None:
    window = feature_rows(np.random.default_rng(12), 100, features, shift={"brightness": 0.3})
    for row in window:
        row.update(dict.fromkeys(features.names("embedding")))
        row["hue"] = float("nan")
    no_sharpness = reference.model_copy(
        update={
            "rows": [
                r.model_copy(update={"features": {**r.features, "sharpness": None}}) for r in reference.rows
            ]
        }
    )
    for config in (CONFIG, CONFIG.model_copy(update={"embedding_test": "ks"})):
        tests = by_column(compare_window(window, no_sharpness, features, config))
        skipped = {name for name, t in tests.items() if t.test == "skipped"}
        embedding = {EMBEDDING_COLUMN} if config.embedding_test == "mmd" else set(features.names("embedding"))
        assert skipped == {"sharpness", "hue"} | embedding
        for name in skipped:
            assert not tests[name].drifted
            assert tests[name].p_value is None
            assert tests[name].adjusted_p_value is None
            assert (
                tests[name].note and "reference" in tests[name].note
                if name == "sharpness"
                else "window" in str(tests[name].note)
            )
        assert tests["brightness"].drifted


def test_the_correction_counts_the_tested_columns_only(
    features: FeatureSet, reference: FeatureReference
) -> None:
    window = feature_rows(np.random.default_rng(13), 100, features, shift={"contrast": 0.04})
    corrections: tuple[Correction, ...] = ("bonferroni", "fdr_bh")
    for correction in corrections:
        tests = compare_window(
            window, reference, features, CONFIG.model_copy(update={"correction": correction})
        )
        tested = [t for t in tests if t.p_value is not None and t.column not in CONFIG.informational_columns]
        expected = adjust_p_values([t.p_value for t in tested if t.p_value is not None], correction)
        assert [t.adjusted_p_value for t in tested] == pytest.approx(expected)
        assert all(
            t.drifted == (t.adjusted_p_value is not None and t.adjusted_p_value <= CONFIG.alpha)
            for t in tests
        )


def test_bonferroni_and_benjamini_hochberg() -> None:
    p = [0.01, 0.02, 0.5, 0.004]
    assert adjust_p_values(p, "bonferroni") == pytest.approx([0.04, 0.08, 1.0, 0.016])
    # BH: sorted 0.004, 0.01, 0.02, 0.5 -> 0.016, 0.02, 0.02667, 0.5, then the running minimum from the top.
    assert adjust_p_values(p, "fdr_bh") == pytest.approx([0.02, 0.08 / 3, 0.5, 0.016])
    assert adjust_p_values([], "fdr_bh") == []
    # BH is never stricter than Bonferroni.
    assert all(
        b <= f for b, f in zip(adjust_p_values(p, "fdr_bh"), adjust_p_values(p, "bonferroni"), strict=True)
    )


def test_windows_that_cannot_be_compared_are_refused(
    features: FeatureSet, reference: FeatureReference
) -> None:
    with pytest.raises(DriftTestError, match="no predictions"):
        compare_window([], reference, features, CONFIG)
    other = reference.model_copy(update={"feature_set_version": features.version + 1})
    with pytest.raises(DriftTestError, match="version"):
        compare_window(feature_rows(np.random.default_rng(14), 10, features), other, features, CONFIG)
    bad = feature_rows(np.random.default_rng(15), 10, features)
    bad[0]["brightness"] = "bright"
    with pytest.raises(DriftTestError, match=r"brightness.*not a number"):
        compare_window(bad, reference, features, CONFIG)


def test_informational_columns_are_shown_but_never_drift_a_window(
    features: FeatureSet, reference: FeatureReference
) -> None:
    window = feature_rows(np.random.default_rng(16), 100, features, shift={"width": 300.0})
    tests = by_column(compare_window(window, reference, features, CONFIG))
    assert "width" in CONFIG.informational_columns
    assert tests["width"].p_value is not None
    assert tests["width"].p_value < 1e-6
    assert not tests["width"].drifted
    assert tests["width"].adjusted_p_value is None
    assert "informational" in str(tests["width"].note)
    assert not any(t.drifted for t in tests.values())
    # Left out of the correction: the other columns are adjusted among themselves.
    counted = [t for t in tests.values() if t.adjusted_p_value is not None]
    tested = [t for t in tests.values() if t.p_value is not None]
    assert len(counted) == len(tested) - len(CONFIG.informational_columns)
    strict = by_column(
        compare_window(window, reference, features, CONFIG.model_copy(update={"informational_columns": ()}))
    )
    assert strict["width"].drifted


def test_neither_answers_in_a_window_are_a_class_share_the_reference_never_had() -> None:
    """The training reference holds dandelion and grass only; a window where a third of the
    photos were answered "neither" (open-set rejection) is a drift, tested without an error."""
    rng = np.random.default_rng(10)
    window = ["dandelion"] * 35 + ["grass"] * 35 + ["neither"] * 30
    test, statistic, p_value, _ = class_share_test(window, ["dandelion", "grass"] * 100, rng, 500)
    assert test == "chi2"  # every expected count is at least 5
    assert math.isfinite(statistic)
    assert p_value < 0.01
