"""Judge and present the training benchmark's runs: per split, overall, against the targets.

Pure functions over the runs' records, so that the verdict, the printed table and the README
table all come from one place (and tests can check them without training anything):

    .venv/bin/python -m benchmarks.training_report [--json PATH] [--update-readme]

prints the markdown table of a results file; `--update-readme` rewrites the README's training
benchmark table (between the markers below) from it.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO_ROOT / "benchmarks" / "results" / "training.json"
README = REPO_ROOT / "README.md"
TABLE_START = "<!-- training-benchmark:start (python -m benchmarks.training_report --update-readme) -->"
TABLE_END = "<!-- training-benchmark:end -->"

# Targets on the 2-core development machine (issue 11): over every (split seed, training seed)
# run, the mean test accuracy; the mean of the worst split; the single worst run; cost per run.
TARGETS: dict[str, float] = {
    "mean_accuracy": 0.980,
    "worst_split_mean_accuracy": 0.965,
    "min_run_accuracy": 0.950,
    "max_train_seconds": 240.0,
    "max_peak_rss_mb": 4096.0,
}
# Which targets are floors (>=) and which are ceilings (<=).
_AT_LEAST = {"mean_accuracy", "worst_split_mean_accuracy", "min_run_accuracy"}


def split_summaries(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per split seed: runs, mean / min / max test accuracy, spread (max - min), mean errors."""
    by_split: dict[int, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_split.setdefault(int(run["split_seed"]), []).append(run)
    summaries = []
    for split_seed, group in sorted(by_split.items()):
        accuracies = [float(r["test_accuracy"]) for r in group]
        summaries.append(
            {
                "split_seed": split_seed,
                "runs": len(group),
                "mean_accuracy": statistics.fmean(accuracies),
                "min_accuracy": min(accuracies),
                "max_accuracy": max(accuracies),
                "spread": max(accuracies) - min(accuracies),
                "mean_errors": statistics.fmean(len(r["misclassified"]) for r in group),
            }
        )
    return summaries


def overall_summary(runs: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The numbers the targets are about, plus means for the table."""
    if not runs:
        raise ValueError("no benchmark run to summarise")
    splits = split_summaries(runs)
    accuracies = [float(r["test_accuracy"]) for r in runs]
    return {
        "runs": float(len(runs)),
        "mean_accuracy": statistics.fmean(accuracies),
        "stdev_accuracy": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "worst_split_mean_accuracy": min(s["mean_accuracy"] for s in splits),
        "min_run_accuracy": min(accuracies),
        "mean_f1": statistics.fmean(float(r["test_f1"]) for r in runs),
        "mean_train_seconds": statistics.fmean(float(r["train_seconds"]) for r in runs),
        "max_train_seconds": max(float(r["train_seconds"]) for r in runs),
        "max_peak_rss_mb": max(float(r["peak_rss_mb"]) for r in runs),
    }


def inference_comparison(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The configured inference against the other one (flip averaging toggled), same weights.

    Validation columns are what a choice between them may look at; test columns are reported.
    Empty when the runs predate the comparison (no `other_inference` record).
    """
    if not runs or any("other_inference" not in r for r in runs):
        return []
    other_flips = bool(runs[0]["other_inference"]["flip_averaging"])
    sides = (
        ("configured", not other_flips, runs),
        ("other", other_flips, [{**r["other_inference"], "split_seed": r["split_seed"]} for r in runs]),
    )
    rows = []
    for name, flips, group in sides:
        by_split: dict[int, list[float]] = {}
        for r in group:
            by_split.setdefault(int(r["split_seed"]), []).append(float(r["test_accuracy"]))
        rows.append(
            {
                "inference": name,
                "flip_averaging": flips,
                "validation_accuracy": statistics.fmean(float(r["validation_accuracy"]) for r in group),
                "validation_log_loss": statistics.fmean(float(r["validation_log_loss"]) for r in group),
                "test_accuracy": statistics.fmean(float(r["test_accuracy"]) for r in group),
                "worst_split_mean_accuracy": min(statistics.fmean(v) for v in by_split.values()),
                "min_run_accuracy": min(float(r["test_accuracy"]) for r in group),
            }
        )
    return rows


def verdict(summary: Mapping[str, float], targets: Mapping[str, float] = TARGETS) -> dict[str, bool]:
    """Target name -> met."""
    return {
        name: summary[name] >= bound if name in _AT_LEAST else summary[name] <= bound
        for name, bound in targets.items()
    }


def text_table(runs: Sequence[Mapping[str, Any]]) -> str:
    """Every run, one line each, for the terminal."""
    header = ("split", "train seed", "test acc", "errors", "val acc", "best", "train s", "RSS MB")
    widths = (5, 10, 9, 6, 8, 13, 8, 7)
    lines = [" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True))]
    for r in runs:
        best = f"{r['best_stage']}@{r['best_epoch']}"
        lines.append(
            f"{r['split_seed']:>5} {r['train_seed']:>10} {r['test_accuracy']:>9.2%} "
            f"{len(r['misclassified']):>6} {r['validation_accuracy']:>8.2%} {best:>13} "
            f"{r['train_seconds']:>8.1f} {r['peak_rss_mb']:>7.0f}"
        )
    return "\n".join(lines)


def _pct(value: float) -> str:
    return f"{value:.2%}".replace("%", " %")


def markdown_table(results: Mapping[str, Any]) -> str:
    """The README's table: one row per split, then the overall line and the verdict."""
    runs = results["runs"]
    summary = overall_summary(runs)
    passed = verdict(summary, results.get("targets", TARGETS))
    targets = results.get("targets", TARGETS)
    train_seeds = sorted({int(r["train_seed"]) for r in runs})
    lines = [
        f"| split seed | runs | mean test accuracy | min | max | mean errors (of {runs[0]['test']}) |",
        "|---|---|---|---|---|---|",
    ]
    for s in split_summaries(runs):
        lines.append(
            f"| {s['split_seed']} | {s['runs']} | {_pct(s['mean_accuracy'])} | {_pct(s['min_accuracy'])} "
            f"| {_pct(s['max_accuracy'])} | {s['mean_errors']:.2f} |"
        )
    lines.append(
        f"| **all** | {len(runs)} | **{_pct(summary['mean_accuracy'])}** "
        f"(sd {_pct(summary['stdev_accuracy'])}) | {_pct(summary['min_run_accuracy'])} | | |"
    )
    mark = {True: "met", False: "**missed**"}
    if not results.get("complete", True):
        lines += [
            "",
            f"**Partial**: {len(runs)} of {results.get('planned_runs')} planned runs "
            "(the benchmark was stopped before it finished; splits have fewer seeds).",
        ]
    lines += [
        "",
        f"Training seeds run: {', '.join(map(str, train_seeds))} (planned: "
        f"{', '.join(map(str, results.get('train_seeds', train_seeds)))} on each split); commit "
        f"`{str(results.get('git_commit'))[:12]}`, dataset `{results.get('dataset_version')}`, "
        f"{results.get('machine', {}).get('cpus')} CPUs, benchmark "
        f"{float(results.get('benchmark_seconds', 0)) / 60:.0f} min.",
        "",
        "| target | measured | bound | |",
        "|---|---|---|---|",
    ]
    for name, bound in targets.items():
        value = summary[name]
        shown = (_pct(value), _pct(bound)) if "accuracy" in name else (f"{value:.0f}", f"{bound:.0f}")
        relation = ">=" if name in _AT_LEAST else "<="
        lines.append(f"| {name} | {shown[0]} | {relation} {shown[1]} | {mark[passed[name]]} |")
    comparison = inference_comparison(runs)
    if comparison:
        lines += [
            "",
            "The same trained weights served with and without flip averaging (choose on validation):",
            "",
            "| inference | flip averaging | validation accuracy | validation log loss "
            "| test accuracy | worst split | worst run |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in comparison:
            lines.append(
                f"| {row['inference']} | {'on' if row['flip_averaging'] else 'off'} "
                f"| {_pct(row['validation_accuracy'])} | {row['validation_log_loss']:.4f} "
                f"| {_pct(row['test_accuracy'])} | {_pct(row['worst_split_mean_accuracy'])} "
                f"| {_pct(row['min_run_accuracy'])} |"
            )
    return "\n".join(lines)


def replace_between_markers(text: str, table: str) -> str:
    """`text` with the part between TABLE_START and TABLE_END replaced by `table`."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no training benchmark markers ({TABLE_START} ... {TABLE_END})")
    return text[: start + len(TABLE_START)] + "\n" + table + "\n" + text[end:]


def readme_table(text: str) -> str:
    """The table currently between the markers of a README."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError("the README has no training benchmark markers")
    return text[start + len(TABLE_START) : end].strip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="benchmark results file")
    parser.add_argument("--update-readme", action="store_true", help="rewrite the README's table")
    args = parser.parse_args(argv)
    table = markdown_table(json.loads(args.json.read_text()))
    print(table)
    if args.update_readme:
        README.write_text(replace_between_markers(README.read_text(), table))
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
