"""Training benchmark: the real training config on several re-splits of the current dataset.

    .venv/bin/python -m benchmarks.training_benchmark [--seeds 1 2 3 4 5] [--dataset-version ID]
        [--config configs/training.yaml] [--set fine_tune.epochs=10 ...] [--output PATH]

The images of one dataset version (by default the newest manifest in the object store; run
`bash scripts/quickstart.sh` first) are re-split in memory with `assign_splits`, once per split
seed, with the fractions and group distance of configs/ingestion.yaml. Each split trains one
model in a fresh process (so its peak RSS is its own) and is scored on its test split. Prints a
table and writes JSON (default benchmarks/results/training.json).

Targets on the 2-core development machine: mean test accuracy >= 98.0 %, min >= 96.5 %,
<= 4 minutes per training run, peak RSS <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from greenr.contracts import SPLITS, SplitFractions
from greenr.dataset.rules import ImageRules
from greenr.images.decoding import decode_image
from greenr.images.perceptual_hash import dhash
from greenr.ingestion.config import load_ingestion_config
from greenr.ingestion.split import SplitItem, assign_splits
from greenr.provenance import git_commit
from greenr.settings import REPO_ROOT, get_settings
from greenr.storage.object_store import ObjectStore, open_object_store, s3_options
from greenr.training.config import DEFAULT_CONFIG, TrainingConfig, load_training_config, parse_overrides
from greenr.training.data import Manifest, SplitArrays, decode_to_arrays, read_manifest

DEFAULT_SEEDS = (1, 2, 3, 4, 5)
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "training.json"
TARGETS = {"mean_accuracy": 0.980, "min_accuracy": 0.965, "train_seconds": 240.0, "peak_rss_mb": 4096.0}


@dataclass(frozen=True)
class SeedResult:
    """One training run on one re-split."""

    split_seed: int
    train: int
    validation: int
    test: int
    test_accuracy: float
    test_f1: float
    test_roc_auc: float
    test_ece: float
    validation_accuracy: float  # of the final model; epochs were selected on this split
    best_epoch: int
    best_stage: str
    epochs_run: int
    train_seconds: float
    peak_rss_mb: float
    misclassified: list[dict[str, Any]]


def newest_manifest(store: ObjectStore) -> Manifest:
    """The most recently created dataset version in the store."""
    keys = sorted(k for k in store.existing_keys("processed/datasets") if k.endswith(".json"))
    if not keys:
        sys.exit("no dataset version in the object store: run `bash scripts/quickstart.sh` first")
    manifests = [Manifest.model_validate(json.loads(store.get(key))) for key in keys]
    return max(manifests, key=lambda m: m.created_at)


def resplit(
    manifest: Manifest, items: list[SplitItem], fractions: SplitFractions, group_distance: int, seed: int
) -> dict[str, list[int]]:
    """Member indices per split for one split seed (nothing kept from the stored split)."""
    assignment = assign_splits(items, {}, fractions, seed, group_distance)
    return {
        split: [i for i, m in enumerate(manifest.members) if assignment[m.sha256] == split]
        for split in SPLITS
    }


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(
    split_seed: int,
    data: dict[str, SplitArrays],
    config: TrainingConfig,
    labels: tuple[str, ...],
    weights_dir: str,
) -> SeedResult:
    """Train and test one model (runs in a fresh worker process)."""
    logging.basicConfig(level=logging.INFO, format=f"[split {split_seed}] %(message)s", force=True)
    from greenr.model.pretrained_weights import load_imagenet_weights
    from greenr.training.evaluation import evaluate
    from greenr.training.train import train_classifier

    result = train_classifier(data, config, load_imagenet_weights(weights_dir))
    report = evaluate(result.model, data["test"], labels)
    validation = evaluate(result.model, data["validation"], labels)
    rows = report.predictions()
    return SeedResult(
        split_seed=split_seed,
        train=len(data["train"]),
        validation=len(data["validation"]),
        test=len(data["test"]),
        test_accuracy=report.accuracy,
        test_f1=report.f1,
        test_roc_auc=report.roc_auc,
        test_ece=report.ece,
        validation_accuracy=validation.accuracy,
        best_epoch=result.best_epoch,
        best_stage=result.best_stage,
        epochs_run=len(result.history),
        train_seconds=result.wall_seconds,
        peak_rss_mb=_peak_rss_mb(),
        misclassified=[rows[int(i)] for i in report.misclassified],
    )


def load_all_images(
    store: ObjectStore, manifest: Manifest, labels: tuple[str, ...], max_pixels: int
) -> tuple[SplitArrays, list[SplitItem]]:
    """Every member's model input, plus the split items (dHash of the decoded original)."""
    index_of = {label: i for i, label in enumerate(labels)}
    items: list[SplitItem] = []
    blobs: dict[str, bytes] = {}
    for member in manifest.members:
        data = store.get(member.raw_key)
        blobs[member.raw_key] = data
        items.append(SplitItem(member.sha256, member.label, dhash(decode_image(data, max_pixels).image)))
    arrays = decode_to_arrays(
        blobs.__getitem__,
        [m.raw_key for m in manifest.members],
        [index_of[m.label] for m in manifest.members],
        [m.sha256 for m in manifest.members],
        max_pixels=max_pixels,
        what=f"images of {manifest.id}",
    )
    return arrays, items


def summarize(results: list[SeedResult]) -> dict[str, float]:
    """Mean / min test accuracy and F1, slowest run, highest peak RSS."""
    accuracies = [r.test_accuracy for r in results]
    f1s = [r.test_f1 for r in results]
    return {
        "mean_accuracy": statistics.fmean(accuracies),
        "min_accuracy": min(accuracies),
        "mean_f1": statistics.fmean(f1s),
        "min_f1": min(f1s),
        "mean_train_seconds": statistics.fmean(r.train_seconds for r in results),
        "max_train_seconds": max(r.train_seconds for r in results),
        "max_peak_rss_mb": max(r.peak_rss_mb for r in results),
    }


def table(results: list[SeedResult], summary: dict[str, float]) -> str:
    """The results as a plain-text table."""
    header = ("split seed", "test acc", "test F1", "errors", "best", "train s", "RSS MB")
    widths = (10, 9, 8, 6, 13, 8, 7)
    lines = [" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True))]
    for r in results:
        errors = len(r.misclassified)
        best = f"{r.best_stage}@{r.best_epoch}"
        lines.append(
            f"{r.split_seed:>10} {r.test_accuracy:>9.2%} {r.test_f1:>8.4f} {errors:>6} {best:>13} "
            f"{r.train_seconds:>8.1f} {r.peak_rss_mb:>7.0f}"
        )
    lines.append(
        f"{'mean':>10} {summary['mean_accuracy']:>9.2%} {summary['mean_f1']:>8.4f} {'':>6} {'':>13} "
        f"{summary['mean_train_seconds']:>8.1f}"
    )
    lines.append(
        f"{'min/max':>10} {summary['min_accuracy']:>9.2%} {summary['min_f1']:>8.4f} {'':>6} {'':>13} "
        f"{summary['max_train_seconds']:>8.1f} {summary['max_peak_rss_mb']:>7.0f}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="split seeds")
    parser.add_argument("--dataset-version", help="dataset version id (default: the newest)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config YAML")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    store = open_object_store(settings.lake, s3_options(settings))
    manifest = read_manifest(store, args.dataset_version) if args.dataset_version else newest_manifest(store)
    ingestion = load_ingestion_config()
    fractions = SplitFractions(**ingestion.fractions.model_dump())
    config = load_training_config(args.config, parse_overrides(args.overrides))
    labels = ImageRules.from_suite().labels
    everything, items = load_all_images(store, manifest, labels, settings.max_image_pixels)
    weights_dir = str(settings.home / "weights")

    results: list[SeedResult] = []
    started = time.perf_counter()
    # One fresh process per run: each run's peak RSS is its own, and no Keras state leaks.
    context = multiprocessing.get_context("spawn")
    for seed in args.seeds:
        indices = resplit(manifest, items, fractions, ingestion.group_distance, seed)
        data = {split: everything.take(indices[split]) for split in SPLITS}
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result = pool.submit(run_one, seed, data, config, labels, weights_dir).result()
        results.append(result)
        print(
            f"split seed {seed}: test accuracy {result.test_accuracy:.2%}, F1 {result.test_f1:.4f}, "
            f"{result.train_seconds:.0f} s, {result.peak_rss_mb:.0f} MB",
            flush=True,
        )
    summary = summarize(results)
    print(table(results, summary))
    passed = {
        "mean_accuracy": summary["mean_accuracy"] >= TARGETS["mean_accuracy"],
        "min_accuracy": summary["min_accuracy"] >= TARGETS["min_accuracy"],
        "train_seconds": summary["max_train_seconds"] <= TARGETS["train_seconds"],
        "peak_rss_mb": summary["max_peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    print("targets: " + ", ".join(f"{key} {'ok' if ok else 'MISSED'}" for key, ok in passed.items()))
    output = {
        "created_at": datetime.now(UTC).isoformat(),
        "git_commit": git_commit(REPO_ROOT),
        "dataset_version": manifest.id,
        "images": len(manifest.members),
        "split": {"fractions": fractions.model_dump(), "group_distance": ingestion.group_distance},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "config": config.model_dump(),
        "targets": TARGETS,
        "passed": passed,
        "summary": summary,
        "benchmark_seconds": time.perf_counter() - started,
        "runs": [asdict(r) for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2, default=_json_default) + "\n")
    print(f"wrote {args.output}")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
