"""The training benchmark's summaries, verdict and README table (no training here)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from benchmarks.clean_tree import check_clean_tree
from benchmarks.training_benchmark import log_loss, probabilities_digest
from benchmarks.training_report import (
    DEFAULT_JSON,
    README,
    TABLE_END,
    TABLE_START,
    TARGETS,
    inference_comparison,
    markdown_table,
    overall_summary,
    readme_table,
    replace_between_markers,
    split_summaries,
    verdict,
)


def run(
    split_seed: int, train_seed: int, errors: int, seconds: float = 100.0, rss: float = 2500.0
) -> dict[str, Any]:
    return {
        "split_seed": split_seed,
        "train_seed": train_seed,
        "test": 60,
        "test_accuracy": (60 - errors) / 60,
        "test_f1": 1.0 - errors / 60,
        "misclassified": [{"sha256": str(i)} for i in range(errors)],
        "validation_accuracy": 0.95,
        "best_stage": "fine_tune",
        "best_epoch": 20,
        "train_seconds": seconds,
        "peak_rss_mb": rss,
    }


def test_split_summaries_group_runs_by_split_seed() -> None:
    runs = [run(2, 1, 0), run(1, 1, 3), run(1, 2, 1), run(2, 2, 2)]
    first, second = split_summaries(runs)
    assert first["split_seed"] == 1
    assert first["runs"] == 2
    assert first["mean_accuracy"] == pytest.approx((57 + 59) / 120)
    assert first["min_accuracy"] == pytest.approx(57 / 60)
    assert first["spread"] == pytest.approx(2 / 60)
    assert first["mean_errors"] == 2.0
    assert second["mean_errors"] == 1.0


def test_the_worst_split_is_judged_on_its_mean_and_every_run_on_the_floor() -> None:
    # Split 1: 2 errors on average (96.67 %) meets 96.5 %; one run at 3 errors (95.0 %) meets 95.0 %.
    runs = [run(1, 1, 3), run(1, 2, 1), run(1, 3, 2), *(run(2, s, 0) for s in (1, 2, 3))]
    summary = overall_summary(runs)
    assert summary["worst_split_mean_accuracy"] == pytest.approx(58 / 60)
    assert summary["min_run_accuracy"] == pytest.approx(57 / 60)
    assert verdict(summary) == dict.fromkeys(TARGETS, True)


PERFECT_SPLITS = [run(split, seed, 0) for split in (2, 3, 4, 5) for seed in (1, 2, 3)]


@pytest.mark.parametrize(
    ("runs", "missed"),
    [
        ([run(1, 1, 4), run(1, 2, 0), run(1, 3, 0), *PERFECT_SPLITS], {"min_run_accuracy"}),
        ([run(1, 1, 3), run(1, 2, 3), run(1, 3, 2), *PERFECT_SPLITS], {"worst_split_mean_accuracy"}),
        ([run(s, 1, 2) for s in range(5)], {"mean_accuracy"}),
        ([run(1, 1, 0, seconds=241.0)], {"max_train_seconds"}),
        ([run(1, 1, 0, rss=4097.0)], {"max_peak_rss_mb"}),
    ],
)
def test_each_target_can_be_missed(runs: list[dict[str, Any]], missed: set[str]) -> None:
    passed = verdict(overall_summary(runs))
    assert {name for name, ok in passed.items() if not ok} == missed


def test_no_run_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="no benchmark run"):
        overall_summary([])


def test_markdown_table_has_a_row_per_split_and_the_verdict() -> None:
    results = {"runs": [run(1, 1, 0), run(1, 2, 1), run(2, 1, 3)], "git_commit": "abc", "targets": TARGETS}
    table = markdown_table(results)
    assert "| 1 | 2 | 99.17 % | 98.33 % | 100.00 % | 0.50 |" in table
    assert "| 2 | 1 | 95.00 % |" in table
    assert "| worst_split_mean_accuracy | 95.00 % | >= 96.50 % | **missed** |" in table


def test_readme_markers_are_replaced_and_nothing_else() -> None:
    text = f"before\n{TABLE_START}\nold\n{TABLE_END}\nafter\n"
    new = replace_between_markers(text, "| new |")
    assert new == f"before\n{TABLE_START}\n| new |\n{TABLE_END}\nafter\n"
    assert readme_table(new) == "| new |"
    with pytest.raises(ValueError, match="markers"):
        replace_between_markers("no markers", "| new |")


def test_readme_table_is_the_committed_results() -> None:
    """The README's training table is regenerated from the JSON, never edited by hand."""
    committed = markdown_table(json.loads(DEFAULT_JSON.read_text()))
    assert readme_table(README.read_text()) == committed, (
        "README training table differs from benchmarks/results/training.json: "
        "run python -m benchmarks.training_report --update-readme"
    )


def test_committed_results_describe_a_clean_commit_and_say_whether_they_are_complete() -> None:
    results = json.loads(DEFAULT_JSON.read_text())
    runs = results["runs"]
    assert not str(results["git_commit"]).endswith("-dirty")
    assert len({(r["split_seed"], r["train_seed"]) for r in runs}) == len(runs), "a run was counted twice"
    planned = len(results["split_seeds"]) * len(results["train_seeds"])
    assert results["planned_runs"] == planned
    assert results["complete"] == (len(runs) == planned)


def test_a_partial_benchmark_says_so_in_its_table() -> None:
    results = {"runs": [run(1, 1, 0)], "complete": False, "planned_runs": 15, "targets": TARGETS}
    assert "**Partial**: 1 of 15 planned runs" in markdown_table(results)
    assert "Partial" not in markdown_table({**results, "complete": True})


def test_probabilities_digest_ignores_float_noise_but_not_a_changed_prediction() -> None:
    p = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)
    assert probabilities_digest(p) == probabilities_digest(p + 1e-9)
    assert probabilities_digest(p) != probabilities_digest(p[::-1])


def test_a_dirty_tree_is_refused_unless_allowed() -> None:
    with pytest.raises(SystemExit, match="uncommitted changes"):
        check_clean_tree("abc-dirty", allow_dirty=False)
    check_clean_tree("abc-dirty", allow_dirty=True)
    check_clean_tree("abc", allow_dirty=False)
    with pytest.raises(SystemExit, match="not a git work tree"):
        check_clean_tree(None, allow_dirty=True)


def with_other(record: dict[str, Any], other_errors: int, val_acc: float, val_loss: float) -> dict[str, Any]:
    return {
        **record,
        "validation_log_loss": 0.2,
        "other_inference": {
            "flip_averaging": False,
            "test_accuracy": (60 - other_errors) / 60,
            "test_errors": other_errors,
            "validation_accuracy": val_acc,
            "validation_log_loss": val_loss,
            "misclassified": [],
        },
    }


def test_inference_comparison_sets_the_other_inference_beside_the_configured_one() -> None:
    runs = [with_other(run(1, 1, 1), 3, 0.9, 0.3), with_other(run(2, 1, 0), 1, 0.8, 0.5)]
    configured, other = inference_comparison(runs)
    assert (configured["inference"], configured["flip_averaging"]) == ("configured", True)
    assert configured["validation_accuracy"] == pytest.approx(0.95)
    assert configured["test_accuracy"] == pytest.approx(119 / 120)
    assert (other["inference"], other["flip_averaging"]) == ("other", False)
    assert other["validation_accuracy"] == pytest.approx(0.85)
    assert other["validation_log_loss"] == pytest.approx(0.4)
    assert other["worst_split_mean_accuracy"] == pytest.approx(57 / 60)
    assert other["min_run_accuracy"] == pytest.approx(57 / 60)
    table = markdown_table({"runs": runs})
    assert "| other | off | 85.00 % | 0.4000 | 96.67 % | 95.00 % | 95.00 % |" in table


def test_runs_without_the_other_inference_get_no_comparison() -> None:
    assert inference_comparison([run(1, 1, 0), with_other(run(2, 1, 0), 0, 1.0, 0.1)]) == []
    assert "flip averaging" not in markdown_table({"runs": [run(1, 1, 0)]})


def test_log_loss_is_the_mean_negative_log_probability_of_the_true_class() -> None:
    from greenr.training.evaluation import report_from_probabilities

    probabilities = np.array([[0.8, 0.2], [0.4, 0.6], [0.0, 1.0]], dtype=np.float32)
    report = report_from_probabilities(
        probabilities, np.array([0, 1, 0]), ("dandelion", "grass"), ["a", "b", "c"]
    )
    expected = -(np.log(0.8) + np.log(0.6) + np.log(1e-7)) / 3
    assert log_loss(report) == pytest.approx(expected, rel=1e-5)


def test_the_benchmarks_take_allow_dirty_and_name_their_commit() -> None:
    import argparse
    import importlib

    from benchmarks.clean_tree import measured_commit

    # The benchmarks whose flags are parsed by a function of their own (the others parse in main).
    for name in ("drift_benchmark", "explanation_benchmark", "open_set_benchmark", "training_benchmark"):
        module = importlib.import_module(f"benchmarks.{name}")
        args: argparse.Namespace = module.parse_args(["--allow-dirty"])
        assert args.allow_dirty is True, name
    commit = measured_commit(allow_dirty=True)
    assert len(commit.removesuffix("-dirty")) >= 40
