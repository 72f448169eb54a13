"""What the training benchmark says a run should score, to put one run's result in context.

A single training on one split is one draw: the benchmark (benchmarks/results/training.json,
several re-splits x several training seeds) says how much that draw varies. The training
pipeline prints a run's test accuracy next to these numbers so a user knows whether the run is
typical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from greenr.settings import REPO_ROOT

BENCHMARK_RESULTS = REPO_ROOT / "benchmarks" / "results" / "training.json"


@dataclass(frozen=True)
class Expectation:
    """The benchmark's test accuracy: over all runs, on its worst split, of its worst run."""

    runs: int
    mean_accuracy: float
    worst_split_mean_accuracy: float
    min_run_accuracy: float
    git_commit: str


def load_expectation(path: Path = BENCHMARK_RESULTS) -> Expectation | None:
    """The benchmark's summary, or None when there is no readable results file (e.g. in an image)."""
    try:
        results = json.loads(path.read_text())
        summary = results["summary"]
        return Expectation(
            runs=int(summary["runs"]),
            mean_accuracy=float(summary["mean_accuracy"]),
            worst_split_mean_accuracy=float(summary["worst_split_mean_accuracy"]),
            min_run_accuracy=float(summary["min_run_accuracy"]),
            git_commit=str(results.get("git_commit", "unknown")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def compare_with_benchmark(accuracy: float, expectation: Expectation | None) -> str:
    """One line: this run's test accuracy, the benchmark's, and whether this run is typical."""
    if expectation is None:
        return f"test accuracy {accuracy:.2%} (no training benchmark results to compare with)"
    if accuracy >= expectation.mean_accuracy:
        verdict = "at or above the benchmark's mean"
    elif accuracy >= expectation.min_run_accuracy:
        verdict = "within the benchmark's range"
    else:
        verdict = "BELOW every benchmark run: check the data and the config"
    return (
        f"test accuracy {accuracy:.2%}, {verdict} (benchmark over {expectation.runs} runs at "
        f"{expectation.git_commit[:12]}: mean {expectation.mean_accuracy:.2%}, worst split "
        f"{expectation.worst_split_mean_accuracy:.2%}, worst run {expectation.min_run_accuracy:.2%})"
    )
