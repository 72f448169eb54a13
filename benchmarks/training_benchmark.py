"""Training benchmark: the real training config, several re-splits x several training seeds.

    .venv/bin/python -m benchmarks.training_benchmark [--split-seeds 1 2 3 4 5] [--train-seeds 1 2 3]
        [--dataset-version ID] [--config configs/training.yaml] [--set fine_tune.epochs=10 ...]
        [--output PATH] [--allow-dirty]

The images of one dataset version (by default the newest manifest in the object store; run
`bash scripts/quickstart.sh` first) are re-split in memory with `assign_splits`, once per split
seed, with the fractions and group distance of configs/ingestion.yaml. On each split, one model
is trained per training seed (the config's `seed`), each in a fresh process (so its peak RSS is
its own and no Keras state leaks), and scored on the split's test set. Prints a table and
writes JSON (default benchmarks/results/training.json); benchmarks/training_report.py judges it
against the targets and renders the README table from it.

Results describe committed code: the JSON records the commit, and the benchmark refuses a work
tree with uncommitted changes unless `--allow-dirty` (then the commit is marked "-dirty").
Each run also records a hash of its test probabilities: with `deterministic: true` a rerun of
the same commit on the same machine must give the same hashes. And each run scores the same
weights served with flip averaging toggled, on validation and test (`other_inference`), with the
validation log loss and misclassified photos: choices are made on the validation columns.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import resource
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
from greenr.registry.scoring import score_probabilities
from greenr.settings import REPO_ROOT, get_settings
from greenr.storage.object_store import ObjectStore, open_object_store, s3_options
from greenr.training.config import DEFAULT_CONFIG, TrainingConfig, load_training_config, parse_overrides
from greenr.training.data import Manifest, SplitArrays, decode_to_arrays, read_manifest
from greenr.training.evaluation import EvaluationReport

from .clean_tree import add_allow_dirty, measured_commit
from .training_report import TARGETS, overall_summary, split_summaries, text_table, verdict

DEFAULT_SPLIT_SEEDS = (1, 2, 3, 4, 5)
DEFAULT_TRAIN_SEEDS = (1, 2, 3)
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "training.json"


@dataclass(frozen=True)
class RunResult:
    """One training run (one training seed) on one re-split."""

    split_seed: int
    train_seed: int
    train: int
    validation: int
    test: int
    test_accuracy: float
    test_f1: float
    test_roc_auc: float
    test_ece: float
    test_probabilities_sha256: str  # rounded to 1e-6: equal across reruns when training is deterministic
    validation_accuracy: float  # of the final model; epochs were selected on this split
    validation_loss: float  # best epoch's validation loss (what early stopping looks at; not averaged)
    validation_log_loss: float  # of the exported model (no label smoothing): finer than accuracy
    best_epoch: int
    best_stage: str
    averaged_epochs: list[int]  # whose mean weights the model has (fine_tune.average_best), best first
    epochs_run: int
    train_seconds: float
    peak_rss_mb: float
    misclassified: list[dict[str, Any]]
    validation_misclassified: list[dict[str, Any]]
    # The same trained weights served with flip averaging toggled (an inference-only choice,
    # so both are measured from one training; the choice is made on the validation columns).
    other_inference: dict[str, Any]


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


def probabilities_digest(probabilities: np.ndarray[Any, Any]) -> str:
    """sha256 of probabilities rounded to 1e-6 (a rerun's hash differs only if a prediction does)."""
    rounded = np.round(np.asarray(probabilities, dtype=np.float64), 6)
    return hashlib.sha256(np.ascontiguousarray(rounded).tobytes()).hexdigest()


def run_one(
    split_seed: int,
    data: dict[str, SplitArrays],
    config: TrainingConfig,
    labels: tuple[str, ...],
    weights_dir: str,
) -> RunResult:
    """Train and test one model (runs in a fresh worker process)."""
    logging.basicConfig(
        level=logging.INFO, format=f"[split {split_seed} seed {config.seed}] %(message)s", force=True
    )
    from greenr.model.pretrained_weights import load_imagenet_weights
    from greenr.training.evaluation import evaluate
    from greenr.training.model import inference_model
    from greenr.training.train import train_classifier

    result = train_classifier(data, config, load_imagenet_weights(weights_dir))
    report = evaluate(result.model, data["test"], labels)
    validation = evaluate(result.model, data["validation"], labels)
    other = inference_model(result.model, flip_averaging=not config.flip_averaging)
    other_report = evaluate(other, data["test"], labels)
    other_validation = evaluate(other, data["validation"], labels)
    return RunResult(
        split_seed=split_seed,
        train_seed=config.seed,
        train=len(data["train"]),
        validation=len(data["validation"]),
        test=len(data["test"]),
        test_accuracy=report.accuracy,
        test_f1=report.f1,
        test_roc_auc=report.roc_auc,
        test_ece=report.ece,
        test_probabilities_sha256=probabilities_digest(report.probabilities),
        validation_accuracy=validation.accuracy,
        validation_loss=result.best.val_loss,
        validation_log_loss=log_loss(validation),
        best_epoch=result.best_epoch,
        best_stage=result.best_stage,
        averaged_epochs=list(result.averaged_epochs),
        epochs_run=len(result.history),
        train_seconds=result.wall_seconds,
        peak_rss_mb=_peak_rss_mb(),
        misclassified=_misclassified(report),
        validation_misclassified=_misclassified(validation),
        other_inference={
            "flip_averaging": not config.flip_averaging,
            "test_accuracy": other_report.accuracy,
            "test_errors": len(other_report.misclassified),
            "validation_accuracy": other_validation.accuracy,
            "validation_log_loss": log_loss(other_validation),
            "misclassified": _misclassified(other_report),
        },
    )


def log_loss(report: EvaluationReport) -> float:
    """The promotion gate's log loss (greenr.registry.scoring) of a report's probabilities."""
    return score_probabilities(report.probabilities, report.true_labels).log_loss


def _misclassified(report: EvaluationReport) -> list[dict[str, Any]]:
    rows = report.predictions()
    return [rows[int(i)] for i in report.misclassified]


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--split-seeds", type=int, nargs="+", default=list(DEFAULT_SPLIT_SEEDS), help="re-split seeds"
    )
    parser.add_argument(
        "--train-seeds",
        type=int,
        nargs="+",
        default=list(DEFAULT_TRAIN_SEEDS),
        help="training seeds (the config's seed) tried on every split",
    )
    parser.add_argument("--dataset-version", help="dataset version id (default: the newest)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config YAML")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    add_allow_dirty(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commit = measured_commit(args.allow_dirty)
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

    splits = {
        seed: resplit(manifest, items, fractions, ingestion.group_distance, seed) for seed in args.split_seeds
    }
    header = {
        "git_commit": commit,
        "dataset_version": manifest.id,
        "images": len(manifest.members),
        "split": {"fractions": fractions.model_dump(), "group_distance": ingestion.group_distance},
        "split_seeds": args.split_seeds,
        "train_seeds": args.train_seeds,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "config": config.model_dump(),
        "targets": TARGETS,
    }
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    # One fresh process per run: each run's peak RSS is its own, and no Keras state leaks.
    context = multiprocessing.get_context("spawn")
    # Training seed outside, split inside: a benchmark stopped early still covers every split.
    for train_seed in args.train_seeds:
        for split_seed in args.split_seeds:
            data = {split: everything.take(splits[split_seed][split]) for split in SPLITS}
            run_config = config.model_copy(update={"seed": train_seed})
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                result = pool.submit(run_one, split_seed, data, run_config, labels, weights_dir).result()
            results.append(asdict(result))
            print(
                f"split {split_seed} seed {train_seed}: test accuracy {result.test_accuracy:.2%} "
                f"({len(result.misclassified)} errors), validation {result.validation_accuracy:.2%}, "
                f"{result.train_seconds:.0f} s, {result.peak_rss_mb:.0f} MB",
                flush=True,
            )
            # Written after every run, so that a stopped benchmark keeps what it measured.
            planned = len(args.train_seeds) * len(args.split_seeds)
            write_results(args.output, header, results, time.perf_counter() - started, planned)
    summary = overall_summary(results)
    print(text_table(results))
    for split in split_summaries(results):
        print(
            f"split {split['split_seed']}: mean {split['mean_accuracy']:.2%}, "
            f"min {split['min_accuracy']:.2%}, spread {split['spread']:.2%} over {split['runs']} runs"
        )
    print(
        f"all {len(results)} runs: mean {summary['mean_accuracy']:.2%}, worst split mean "
        f"{summary['worst_split_mean_accuracy']:.2%}, worst run {summary['min_run_accuracy']:.2%}"
    )
    passed = verdict(summary)
    print("targets: " + ", ".join(f"{key} {'ok' if ok else 'MISSED'}" for key, ok in passed.items()))
    print(f"wrote {args.output}")
    return 0


def write_results(
    path: Path, header: dict[str, Any], runs: list[dict[str, Any]], seconds: float, planned: int
) -> None:
    """The results file: what was run, the verdict so far, every run; `complete` once all ran."""
    summary = overall_summary(runs)
    output = {
        "created_at": datetime.now(UTC).isoformat(),
        **header,
        "complete": len(runs) == planned,
        "planned_runs": planned,
        "passed": verdict(summary),
        "summary": summary,
        "splits": split_summaries(runs),
        "benchmark_seconds": seconds,
        "runs": runs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
