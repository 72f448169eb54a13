"""Drift tests of one window of predictions against the reference of the model version that answered.

Every column of the feature set is tested (benchmarks/drift_benchmark.py measures how well):
- numeric columns: two-sample Kolmogorov-Smirnov against the reference (train + validation rows
  for image and embedding columns; validation rows only for output columns, since the model's
  outputs on photos it learnt are not what production sees);
- the predicted label: chi-square on the class share (a 2 x K table window vs reference); when an
  expected count is under 5, Fisher's exact test (two classes) or a seeded permutation of the
  chi-square statistic (more classes) instead, so a small window never gets an infinite statistic
  (whylogs 1.6.4's chi-square does, and flags every small window);
- the embedding columns, with `config.embedding_test`: one joint MMD test (Gaussian kernel,
  seeded permutation test) or a KS test per column;
- a column whose values are all missing on either side is reported as skipped, never as drifted.
The p-values are then adjusted across the tested columns (`config.correction`), and a column
drifted when its adjusted p-value is at most `config.alpha`; a window drifted when any column did.
Columns in `config.informational_columns` are tested and reported but never drift a window (and
are left out of the correction).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from greenr.features.definitions import FeatureColumn, FeatureSet
from greenr.features.reference import FeatureReference, FeatureValue
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.report import ColumnTest, Correction

MIN_EXPECTED_COUNT: Final = 5.0
"""Below this expected count in any cell, the chi-square approximation is not trusted (the usual rule)."""

EMBEDDING_COLUMN: Final = "embedding"
"""The ColumnTest name of the joint MMD test over every embedding column."""

MMD_MAX_REFERENCE_ROWS: Final = 1000
"""The MMD's cost grows with (window + reference)^2 x permutations; beyond this many reference rows
a seeded random subset stands for the reference (it already estimates the distribution well)."""

Floats = npt.NDArray[np.float64]


class DriftTestError(ValueError):
    """The window cannot be compared with this reference."""


@dataclass(frozen=True)
class _Outcome:
    """One test before the correction; p_value None = skipped."""

    column: str
    test: str
    statistic: float | None
    p_value: float | None
    note: str | None = None


def compare_window(
    rows: Sequence[Mapping[str, FeatureValue]],
    reference: FeatureReference,
    features: FeatureSet,
    config: MonitoringConfig,
) -> list[ColumnTest]:
    """Every column of one window (the `features` dicts of one model version's predictions)
    tested against `reference`, the p-values corrected across columns.

    Raises:
        DriftTestError: the window is empty, the reference was computed with another feature set
            version, or a numeric column holds something that is not a number.
    """
    if not rows:
        raise DriftTestError("the window holds no predictions: compare windows of at least one prediction")
    if not reference.compatible_with(features):
        raise DriftTestError(
            f"the reference was computed with feature set {reference.feature_set_name} version "
            f"{reference.feature_set_version}, production with {features.name} version {features.version}: "
            "retrain or recompute the reference before comparing"
        )
    rng = np.random.default_rng(config.seed)
    outcomes: list[_Outcome] = []
    joint_embedding = config.embedding_test == "mmd"
    for column in features.columns:
        if joint_embedding and column.source == "embedding":
            continue
        outcomes.append(_test_column(column, rows, reference, rng, config.permutations))
    embedding = features.names("embedding")
    if joint_embedding and embedding:
        outcomes.append(_embedding_test(embedding, rows, reference, rng, config.permutations))
    return _corrected(outcomes, config.correction, config.alpha, config.informational_columns)


def _reference_values(reference: FeatureReference, column: FeatureColumn) -> list[FeatureValue]:
    # Output columns exist on validation rows only (the reference's contract).
    return reference.values(column.name, "validation" if column.source == "output" else None)


def _window_values(rows: Sequence[Mapping[str, FeatureValue]], column: str) -> list[FeatureValue]:
    return [row[column] for row in rows if row.get(column) is not None]


def _test_column(
    column: FeatureColumn,
    rows: Sequence[Mapping[str, FeatureValue]],
    reference: FeatureReference,
    rng: np.random.Generator,
    permutations: int,
) -> _Outcome:
    window = _window_values(rows, column.name)
    expected = _reference_values(reference, column)
    missing = _missing_note(len(window), len(expected))
    if missing:
        return _Outcome(column.name, "skipped", None, None, missing)
    if not column.numeric:
        return _class_share_test(
            column.name, [str(v) for v in window], [str(v) for v in expected], rng, permutations
        )
    window_numbers, reference_numbers = _numbers(column.name, window), _numbers(column.name, expected)
    not_finite = _missing_note(len(window_numbers), len(reference_numbers))
    if not_finite:
        return _Outcome(column.name, "skipped", None, None, not_finite.replace("values", "finite values"))
    result = stats.ks_2samp(window_numbers, reference_numbers)
    return _Outcome(column.name, "ks", float(result.statistic), float(result.pvalue))


def _missing_note(window: int, reference: int) -> str | None:
    if window == 0 and reference == 0:
        return "no values in the window nor in the reference"
    if window == 0:
        return "no values in the window (all missing)"
    if reference == 0:
        return "no values in the reference (all missing)"
    return None


def _numbers(column: str, values: Sequence[FeatureValue]) -> Floats:
    try:
        numbers = np.asarray([float(v) for v in values if v is not None], dtype=np.float64)
    except (TypeError, ValueError):
        raise DriftTestError(
            f"column {column!r} holds a value that is not a number: fix the feature rows"
        ) from None
    finite: Floats = numbers[np.isfinite(numbers)]
    return finite


def class_share_test(
    window: Sequence[str], reference: Sequence[str], rng: np.random.Generator, permutations: int
) -> tuple[str, float, float, str | None]:
    """(test name, statistic, p-value, note) comparing the class shares of two samples.

    Chi-square on the 2 x K table when every expected count is at least 5; otherwise Fisher's
    exact test (K = 2, statistic = the largest difference in class share) or a permutation test
    of the chi-square statistic (K > 2). The statistic is always finite.
    """
    categories = sorted(set(window) | set(reference))
    if len(categories) < 2:
        return "chi2", 0.0, 1.0, f"one class ({categories[0]}) on both sides"
    table = np.array([[sum(v == c for v in sample) for c in categories] for sample in (window, reference)])
    expected = stats.contingency.expected_freq(table)
    if expected.min() >= MIN_EXPECTED_COUNT:
        result = stats.chi2_contingency(table, correction=False)
        return "chi2", float(result.statistic), float(result.pvalue), None
    note = (
        f"an expected count is {expected.min():.2f} < {MIN_EXPECTED_COUNT:g}: an exact test, not chi-square"
    )
    if len(categories) == 2:
        shares = table / table.sum(axis=1, keepdims=True)
        difference = float(np.abs(shares[0] - shares[1]).max())
        return "fisher_exact", difference, float(stats.fisher_exact(table).pvalue), note
    statistic, p_value = _chi2_permutation(
        np.array(list(window) + list(reference)), len(window), categories, rng, permutations
    )
    return "chi2_permutation", statistic, p_value, note


def _chi2_statistic(table: npt.NDArray[np.int64]) -> float:
    expected = stats.contingency.expected_freq(table)
    return float(((table - expected) ** 2 / expected).sum())


def _chi2_permutation(
    pooled: npt.NDArray[Any],
    n_window: int,
    categories: list[str],
    rng: np.random.Generator,
    permutations: int,
) -> tuple[float, float]:
    def table_of(sample: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        return np.array(
            [[int((part == c).sum()) for c in categories] for part in (sample[:n_window], sample[n_window:])]
        )

    observed = _chi2_statistic(table_of(pooled))
    exceed = sum(
        _chi2_statistic(table_of(rng.permutation(pooled))) >= observed - 1e-12 for _ in range(permutations)
    )
    return observed, (1 + exceed) / (1 + permutations)


def _class_share_test(
    column: str, window: Sequence[str], reference: Sequence[str], rng: np.random.Generator, permutations: int
) -> _Outcome:
    test, statistic, p_value, note = class_share_test(window, reference, rng, permutations)
    return _Outcome(column, test, statistic, p_value, note)


def _embedding_test(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, FeatureValue]],
    reference: FeatureReference,
    rng: np.random.Generator,
    permutations: int,
) -> _Outcome:
    window = _embedding_matrix(rows, columns)
    expected = _embedding_matrix([row.features for row in reference.rows], columns)
    missing = _missing_note(len(window), len(expected))
    if missing:
        return _Outcome(
            EMBEDDING_COLUMN, "skipped", None, None, missing.replace("values", "complete embedding rows")
        )
    note = f"joint test of {', '.join(columns)}"
    if len(expected) > MMD_MAX_REFERENCE_ROWS:
        expected = expected[rng.choice(len(expected), MMD_MAX_REFERENCE_ROWS, replace=False)]
        note += f" against {MMD_MAX_REFERENCE_ROWS} reference rows drawn at random"
    statistic, p_value = mmd_permutation_test(window, expected, rng, permutations)
    return _Outcome(EMBEDDING_COLUMN, "mmd", statistic, p_value, note)


def _embedding_matrix(samples: Sequence[Mapping[str, FeatureValue]], columns: Sequence[str]) -> Floats:
    """The rows whose embedding columns are all finite numbers, as a matrix."""
    complete = [s for s in samples if all(s.get(c) is not None for c in columns)]
    matrix = np.empty((len(complete), len(columns)), dtype=np.float64)
    for index, column in enumerate(columns):
        try:
            matrix[:, index] = [float(s[column]) for s in complete]  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DriftTestError(
                f"column {column!r} holds a value that is not a number: fix the feature rows"
            ) from None
    finite: Floats = matrix[np.isfinite(matrix).all(axis=1)]
    return finite


def mmd_permutation_test(
    window: Floats, reference: Floats, rng: np.random.Generator, permutations: int
) -> tuple[float, float]:
    """(MMD^2, permutation p-value) of two samples of vectors, Gaussian kernel.

    Columns are standardised with the reference's mean and spread, the kernel width is the median
    squared distance between pooled points, and the p-value is (1 + #permutations at least as
    extreme) / (1 + permutations), so its floor is 1 / (1 + permutations).
    """
    scale = reference.std(axis=0)
    scale[scale == 0] = 1.0
    pooled = (np.vstack([window, reference]) - reference.mean(axis=0)) / scale
    norms = (pooled**2).sum(axis=1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2 * pooled @ pooled.T, 0.0)
    positive = squared[squared > 0]
    bandwidth = float(np.median(positive)) if positive.size else 1.0
    kernel = np.exp(-squared / bandwidth)
    n, m = len(pooled), len(window)
    # A split's MMD^2 (biased) is w' K w with w = 1/m on the window rows and -1/r on the reference
    # rows: every permutation at once is one matrix product.
    signs = np.where(np.arange(n) < m, 1.0 / m, -1.0 / (n - m))
    weights = np.empty((n, permutations + 1))
    weights[:, 0] = signs
    for column in range(1, permutations + 1):
        weights[:, column] = rng.permutation(signs)
    values = np.einsum("ip,ip->p", weights, kernel @ weights)
    observed = float(values[0])
    exceed = int((values[1:] >= observed - 1e-12).sum())
    return observed, (1 + exceed) / (1 + permutations)


def adjust_p_values(p_values: Sequence[float], correction: Correction) -> list[float]:
    """p-values adjusted for testing them together: Bonferroni or Benjamini-Hochberg (FDR)."""
    if not p_values:
        return []
    values = np.asarray(p_values, dtype=np.float64)
    if correction == "bonferroni":
        return [float(v) for v in np.minimum(values * len(values), 1.0)]
    return [float(v) for v in stats.false_discovery_control(values, method="bh")]


def _corrected(
    outcomes: Sequence[_Outcome], correction: Correction, alpha: float, informational: Collection[str] = ()
) -> list[ColumnTest]:
    # Informational columns are tested and shown but are not part of the verdict, so they are
    # left out of the family the correction counts.
    tested = [o for o in outcomes if o.p_value is not None and o.column not in informational]
    adjusted = dict(
        zip(
            (o.column for o in tested),
            adjust_p_values([o.p_value for o in tested if o.p_value is not None], correction),
            strict=True,
        )
    )
    return [
        ColumnTest(
            column=o.column,
            test=o.test,
            statistic=o.statistic if o.statistic is None or math.isfinite(o.statistic) else None,
            p_value=o.p_value,
            adjusted_p_value=adjusted.get(o.column),
            threshold=alpha,
            drifted=o.column in adjusted and adjusted[o.column] <= alpha,
            note=_informational_note(o, alpha) if o.column in informational else o.note,
        )
        for o in outcomes
    ]


def _informational_note(outcome: _Outcome, alpha: float) -> str:
    seen = (
        ""
        if outcome.p_value is None
        else f"; p {outcome.p_value:.2g} {'<=' if outcome.p_value <= alpha else '>'} {alpha:g}"
    )
    return f"informational: not part of the verdict (monitoring.yaml informational_columns){seen}" + (
        f"; {outcome.note}" if outcome.note else ""
    )
