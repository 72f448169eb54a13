"""A training run's accuracy put next to the benchmark's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenr.training.expectation import (
    BENCHMARK_RESULTS,
    Expectation,
    compare_with_benchmark,
    load_expectation,
)

BENCH = Expectation(
    runs=15, mean_accuracy=0.98, worst_split_mean_accuracy=0.965, min_run_accuracy=0.95, git_commit="abc123"
)


@pytest.mark.parametrize(
    ("accuracy", "verdict"),
    [
        (1.0, "at or above the benchmark's mean"),
        (0.9667, "within the benchmark's range"),
        (0.95, "within the benchmark's range"),
        (0.9333, "BELOW every benchmark run"),
    ],
)
def test_a_run_is_placed_against_the_benchmark(accuracy: float, verdict: str) -> None:
    line = compare_with_benchmark(accuracy, BENCH)
    assert verdict in line
    assert "mean 98.00%" in line
    assert "worst split 96.50%" in line


def test_without_results_the_line_says_so() -> None:
    assert "no training benchmark results" in compare_with_benchmark(0.9, None)


def test_missing_or_broken_results_give_no_expectation(tmp_path: Path) -> None:
    assert load_expectation(tmp_path / "missing.json") is None
    (tmp_path / "broken.json").write_text("{")
    assert load_expectation(tmp_path / "broken.json") is None
    (tmp_path / "old.json").write_text(json.dumps({"summary": {"mean_accuracy": 0.9}}))
    assert load_expectation(tmp_path / "old.json") is None


def test_the_committed_benchmark_gives_an_expectation() -> None:
    expectation = load_expectation(BENCHMARK_RESULTS)
    assert expectation is not None
    assert expectation.runs >= 5
    assert 0.5 < expectation.min_run_accuracy <= expectation.worst_split_mean_accuracy <= 1.0
