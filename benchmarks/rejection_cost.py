"""Benchmark: what open-set scoring adds per image in the model server, next to the model itself.

    .venv/bin/python -m benchmarks.rejection_cost --artifact DIR [--per-class 140] [--repeats 5]

DIR is a serving artifact whose model.onnx has the embedding output (e.g. a published champion's
folder). The model runs on `--per-class` real photos of each class (the greenr source folder),
one image per run as the model server runs it; each method of `greenr.open_set.scorer` is
fitted on their embeddings (a stand-in for the train split: only the sizes matter for the cost)
and then scores each photo alone, as the server scores a one-photo request (`scores` and
`rejected` on a 1 x D batch). Prints a table of the median per image; writes
benchmarks/results/rejection_cost.json. How well the methods reject is
benchmarks/open_set_benchmark.py's subject, not this one's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenr.contracts import LABELS
from greenr.images.preprocess import decode_model_input
from greenr.open_set.scorer import METHODS, OpenSetScorer, fit_scorer, scorer_to_json
from greenr.settings import REPO_ROOT, load_settings

RESULTS = REPO_ROOT / "benchmarks" / "results" / "rejection_cost.json"
Floats = npt.NDArray[np.float32]


def photos(source: Path, per_class: int) -> tuple[list[bytes], list[str]]:
    """The first `per_class` photos of each class, and their labels."""
    data: list[bytes] = []
    labels: list[str] = []
    for label in LABELS:
        found = sorted((source / label).glob("*.jpg"))[:per_class]
        data += [path.read_bytes() for path in found]
        labels += [label] * len(found)
    return data, labels


def median_ms(run: Callable[[int], object], count: int, repeats: int) -> float:
    """The median over `repeats` passes of the mean milliseconds per call of `run(i)`, i < count."""
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for index in range(count):
            run(index)
        passes.append((time.perf_counter() - started) * 1000.0 / count)
    return statistics.median(passes)


def model_outputs(model: Path, images: list[bytes], max_pixels: int) -> tuple[Floats, Floats, float]:
    """Probabilities, embeddings, and the model's median ms per image (one image per run, after a
    first pass that warms it up: one more pass is timed)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    size = int(session.get_inputs()[0].shape[1])
    name = session.get_inputs()[0].name
    batch = np.stack([decode_model_input(data, max_pixels, size) for data in images]).astype(np.float32)
    if len(session.get_outputs()) != 2:
        raise SystemExit(f"{model} has no embedding output: give an artifact exported since issue 13")
    runs = [session.run(None, {name: batch[i : i + 1]}) for i in range(len(batch))]
    probabilities = np.concatenate([run[0] for run in runs]).astype(np.float32)
    embeddings = np.concatenate([run[1] for run in runs]).astype(np.float32)
    model_ms = median_ms(lambda i: session.run(None, {name: batch[i : i + 1]}), len(batch), 1)
    return probabilities, embeddings, model_ms


def scoring_ms(scorer: OpenSetScorer, probabilities: Floats, embeddings: Floats, repeats: int) -> float:
    """Median ms to score one photo and decide, as the server does for a one-photo request."""

    def score(i: int) -> object:
        return scorer.rejected(scorer.scores(embeddings[i : i + 1], probabilities[i : i + 1]))

    return median_ms(score, len(probabilities), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifact", type=Path, required=True, help="serving artifact folder (model.onnx)")
    parser.add_argument("--per-class", type=int, default=140, help="photos per class (fit and score)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings = load_settings()
    images, labels = photos(settings.source_dir, args.per_class)
    probabilities, embeddings, model_ms = model_outputs(
        args.artifact / "model.onnx", images, settings.max_image_pixels
    )
    rows: list[dict[str, Any]] = []
    # Outlier exposure's cost does not depend on its negatives (it stores weights, not them):
    # a stand-in set of the right width will do. k 20 as configured (a bank of every photo).
    stand_in_negatives = embeddings[::-1][: len(embeddings) // 4] * 1.5
    for method in METHODS:
        scorer = fit_scorer(method, embeddings, labels, k=20, negatives=stand_in_negatives).with_threshold(
            0.0, {}
        )
        rows.append(
            {
                "method": method,
                "ms_per_image": scoring_ms(scorer, probabilities, embeddings, args.repeats),
                "open_set_json_bytes": len(scorer_to_json(scorer)),
            }
        )
    print(f"{len(images)} photos, embedding {embeddings.shape[1]}-d; model.onnx {model_ms:.2f} ms per image")
    print(f"{'method':<16} {'ms / image':>10} {'share of model':>15} {'open_set.json':>14}")
    for row in rows:
        share = row["ms_per_image"] / model_ms
        print(
            f"{row['method']:<16} {row['ms_per_image']:>10.3f} {share:>14.1%} "
            f"{row['open_set_json_bytes'] / 1e6:>11.2f} MB"
        )
    result = {
        "artifact": str(args.artifact),
        "photos": len(images),
        "embedding_dimensions": int(embeddings.shape[1]),
        "model_ms_per_image": model_ms,
        "methods": rows,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
