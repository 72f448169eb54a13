"""Open-set benchmark: which score tells "neither" photos from dandelions and grass, at what threshold?

    .venv/bin/python -m benchmarks.open_set_benchmark [--split-seeds 1 2] [--onnx MODEL.onnx]
        [--output benchmarks/results/open_set.json] [--allow-dirty]

For each split of the greenr photos (the ingestion's own algorithm; no seed = the ingestion's
seed, i.e. the split a quickstart gives; `--split-seeds` adds other splits) the project's
classifier is trained with configs/training.yaml on train + validation and exported to ONNX with
its embedding output (benchmarks/drift_model.py, cached under GREENR_HOME/benchmarks/drift/).
`--onnx` skips training and uses a given model on the ingestion's split (for exploring only: it
must have been trained on that split). Every picture is decoded like the model server decodes
an upload and run through the ONNX model: the embeddings and probabilities are what serving sees.

Each method of greenr/open_set/scorer.py (with a few settings) is fitted on the train split's
embeddings; its threshold is a quantile of the validation split's scores or (`pooled` variants)
of those plus the train photos' out-of-fold scores (greenr/open_set/calibration.py), as training
calibrates it. Outlier exposure also learns from negatives: the development half of the "neither"
flowers and the pictures training generates (greenr/open_set/synthetic_negatives.py,
configs/training.yaml's count and seed; other content and seed than the held-out synthetic
source); `+far` variants also from the development half of the far-domain pictures
(greenr/open_set/far_domain.py); `+derived` variants also from DERIVED pictures made from the
train photos; `blocks` variants score the lower backbone blocks' pooled features with the
embedding (benchmarks/open_set_blocks.py; the blocks computed with the Keras model, not served).
Measured per method: AUROC of the in-domain test split against each out-of-domain source, and at
each quantile the test split's refusal rate, the share of each out-of-domain source flagged and
the accuracy on accepted test photos vs all (benchmarks/open_set_pictures.py describes the
sources).

The choice (method, settings, quantile) uses development data only (the validation and train
splits, the development halves of the "neither" flowers and of the far-domain pictures,
generated pictures), on every split: of the variants and quantiles whose mean in-domain refusal
rate (validation photos plus the train photos' matched out-of-fold scores) is within the
in-domain target, the one that flags most development pictures. A variant that learns from
development pictures is judged on them by 2-fold cross-validation (fitted on one half of them,
flagging measured on the other), never on pictures it was fitted on; one that does not is judged
on the same pictures. The held-out halves, the synthetic pictures and the test split are only
measured on. The configured variant (configs/training.yaml, which need not be the
choice: README "Open-set rejection") is measured like every other and its scoring cost timed
next to the choice's.

Results describe committed code: the JSON records the commit, and the benchmark refuses a work
tree with uncommitted changes unless `--allow-dirty` (then the commit is marked "-dirty").
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from greenr.contracts import LABELS
from greenr.export.onnx_runtime import OnnxClassifier
from greenr.open_set.calibration import matched_to, out_of_fold_scores, pooled_threshold
from greenr.open_set.derived_negatives import derived_negatives
from greenr.open_set.scorer import (
    NEEDS_NEGATIVES,
    FloatArray,
    OpenSetScorer,
    fit_scorer,
    threshold_at_quantile,
)
from greenr.open_set.synthetic_negatives import synthetic_negatives
from greenr.settings import REPO_ROOT
from greenr.training.config import OpenSetConfig, load_training_config
from greenr.training.evaluation import roc_auc

from .clean_tree import add_allow_dirty, measured_commit
from .drift_model import KERAS_FILE, cached_keras_model, cached_onnx_model, model_inputs
from .drift_photos import Photo, dataset_photos
from .open_set_blocks import BlockFeatures
from .open_set_pictures import far_domain_photos, neither_photos, synthetic_photos

log = logging.getLogger(__name__)
DEFAULT_OUTPUT: Final = REPO_ROOT / "benchmarks" / "results" / "open_set.json"
TARGETS: Final = {"max_test_refusal_rate": 0.02, "min_held_out_flag_rate": 0.90}
SCORING_REPEATS: Final = 7
"""Passes over the test photos when timing the scoring (interleaved between variants)."""
DERIVED: Final = 36
"""Pictures made from the train photos for the `more_negatives` variants (configs/training.yaml
`derived_negatives` when such a variant is configured)."""
QUANTILES: Final = (0.95, 0.975, 0.98, 0.985, 0.99, 1.0)
CALIBRATION_FOLDS: Final = 5
"""Folds of the cross-fitted train scores of the `pooled` variants (configs/training.yaml's default)."""


@dataclass(frozen=True)
class Variant:
    """One method with its settings, as `fit_scorer` takes them."""

    name: str
    method: str
    options: dict[str, float]
    calibration: str = "validation"
    """Whose scores the threshold is a quantile of (greenr/open_set/calibration.py)."""
    more_negatives: bool = False
    """Outlier exposure also learns from DERIVED pictures made from the train photos (grey,
    tile-shuffled, inverted: greenr/open_set/derived_negatives.py)."""
    per_class: bool = False
    """One scorer per class, fitted on that class's train photos; a photo gets the score of the
    class the model predicts for it (PerClassScorer; measured here only, training cannot fit it)."""
    far: bool = False
    """Outlier exposure also learns from the far-domain development half (scikit-image pictures:
    greenr/open_set/far_domain.py; configs/training.yaml `far_domain_negatives`)."""
    blocks: bool = False
    """Scored on the `blocks` features (benchmarks/open_set_blocks.py: the lower backbone blocks
    pooled, plus the embedding) instead of the embedding alone; measured here only, the served
    model does not output them."""


VARIANTS: Final = (
    Variant("mahalanobis c16", "mahalanobis", {"components": 16}),
    Variant("mahalanobis c64", "mahalanobis", {"components": 64}),
    Variant("mahalanobis c128", "mahalanobis", {"components": 128}),
    Variant("knn k1", "knn", {"k": 1}),
    Variant("knn k5", "knn", {"k": 5}),
    Variant("knn k20", "knn", {"k": 20}),
    Variant("max_probability", "max_probability", {}),
    Variant("oe k0 p0.001", "outlier_exposure", {"k": 0, "penalty": 0.001}),
    Variant("oe k0 p0.01", "outlier_exposure", {"k": 0, "penalty": 0.01}),
    Variant("oe k0 p0.1", "outlier_exposure", {"k": 0, "penalty": 0.1}),
    Variant("oe k5 p0.001", "outlier_exposure", {"k": 5, "penalty": 0.001}),
    Variant("oe k5 p0.01", "outlier_exposure", {"k": 5, "penalty": 0.01}),
    Variant("oe k5 p0.1", "outlier_exposure", {"k": 5, "penalty": 0.1}),
    Variant("oe k20 p0.001", "outlier_exposure", {"k": 20, "penalty": 0.001}),
    Variant("oe k20 p0.01", "outlier_exposure", {"k": 20, "penalty": 0.01}),
    Variant("oe k20 p0.1", "outlier_exposure", {"k": 20, "penalty": 0.1}),
    Variant("oe k0 p0.001 pooled", "outlier_exposure", {"k": 0, "penalty": 0.001}, "pooled"),
    Variant("oe k5 p0.001 pooled", "outlier_exposure", {"k": 5, "penalty": 0.001}, "pooled"),
    Variant("oe k20 p0.001 pooled", "outlier_exposure", {"k": 20, "penalty": 0.001}, "pooled"),
    Variant("oe k20 p0.001 +derived", "outlier_exposure", {"k": 20, "penalty": 0.001}, more_negatives=True),
    Variant("oe k5 p0.001 pooled +derived", "outlier_exposure", {"k": 5, "penalty": 0.001}, "pooled", True),
    Variant("oe k20 p0.001 pooled +derived", "outlier_exposure", {"k": 20, "penalty": 0.001}, "pooled", True),
    Variant("oe k0 p0.001 +far", "outlier_exposure", {"k": 0, "penalty": 0.001}, far=True),
    Variant("oe k5 p0.001 +far", "outlier_exposure", {"k": 5, "penalty": 0.001}, far=True),
    Variant("oe k20 p0.001 +far", "outlier_exposure", {"k": 20, "penalty": 0.001}, far=True),
    Variant("oe k20 p0.01 +far", "outlier_exposure", {"k": 20, "penalty": 0.01}, far=True),
    Variant("oe k0 p0.001 pooled +far", "outlier_exposure", {"k": 0, "penalty": 0.001}, "pooled", far=True),
    Variant("oe k5 p0.001 pooled +far", "outlier_exposure", {"k": 5, "penalty": 0.001}, "pooled", far=True),
    Variant("oe k20 p0.001 pooled +far", "outlier_exposure", {"k": 20, "penalty": 0.001}, "pooled", far=True),
    Variant(
        "oe k20 p0.001 +derived +far",
        "outlier_exposure",
        {"k": 20, "penalty": 0.001},
        more_negatives=True,
        far=True,
    ),
    Variant(
        "oe k5 p0.001 pooled +derived +far",
        "outlier_exposure",
        {"k": 5, "penalty": 0.001},
        "pooled",
        more_negatives=True,
        far=True,
    ),
    Variant("oe k0 p0.001 per class", "outlier_exposure", {"k": 0, "penalty": 0.001}, per_class=True),
    Variant("oe k20 p0.001 per class", "outlier_exposure", {"k": 20, "penalty": 0.001}, per_class=True),
    Variant("knn k20 blocks", "knn", {"k": 20}, blocks=True),
    Variant("oe k0 p0.001 blocks", "outlier_exposure", {"k": 0, "penalty": 0.001}, blocks=True),
    Variant("oe k20 p0.001 blocks", "outlier_exposure", {"k": 20, "penalty": 0.001}, blocks=True),
    Variant("oe k20 p0.01 blocks", "outlier_exposure", {"k": 20, "penalty": 0.01}, blocks=True),
    Variant(
        "oe k0 p0.001 pooled blocks", "outlier_exposure", {"k": 0, "penalty": 0.001}, "pooled", blocks=True
    ),
    Variant(
        "oe k20 p0.001 pooled blocks", "outlier_exposure", {"k": 20, "penalty": 0.001}, "pooled", blocks=True
    ),
)


class Scorer(Protocol):
    """What the benchmark needs of a fitted score (OpenSetScorer, PerClassScorer)."""

    def scores(self, embeddings: npt.ArrayLike | None, probabilities: npt.ArrayLike) -> FloatArray: ...

    def rejected(self, scores: npt.ArrayLike) -> npt.NDArray[np.bool_]: ...


@dataclass(frozen=True)
class PerClassScorer:
    """Class-conditional scores: `by_class[c]` was fitted on class c's train photos only, and a
    photo is scored by the scorer of the class the model predicts for it. A flower the model calls
    a dandelion is then judged against dandelions alone, not against a boundary that must also
    make room for grass."""

    by_class: tuple[OpenSetScorer, ...]
    """One scorer per class, in LABELS order."""

    def scores(self, embeddings: npt.ArrayLike | None, probabilities: npt.ArrayLike) -> FloatArray:
        probs = np.asarray(probabilities, dtype=np.float64)
        data = np.asarray(embeddings, dtype=np.float64)
        predicted = probs.argmax(axis=1)
        result = np.empty(len(probs))
        for index, scorer in enumerate(self.by_class):
            rows = predicted == index
            if rows.any():
                result[rows] = scorer.scores(data[rows], probs[rows])
        return result

    def rejected(self, scores: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        # Uncalibrated, like a fitted OpenSetScorer (threshold +inf): only its cost is timed.
        return np.asarray(scores, dtype=np.float64) > np.inf


def configured_variant(config: OpenSetConfig) -> tuple[Variant, float]:
    """The variant and quantile of VARIANTS x QUANTILES that `config` (configs/training.yaml's
    open_set) is.

    Raises:
        ValueError: the benchmark does not measure that configuration.
    """
    for variant in VARIANTS:
        if (
            not variant.per_class
            and not variant.blocks
            and variant.method == config.method
            and all(getattr(config, key) == value for key, value in variant.options.items())
            and variant.calibration == config.calibration
            and (variant.calibration != "pooled" or config.calibration_folds == CALIBRATION_FOLDS)
            and config.derived_negatives == (DERIVED if variant.more_negatives else 0)
            and config.far_domain_negatives == variant.far
            and config.quantile in QUANTILES
        ):
            return variant, config.quantile
    raise ValueError(
        f"the open-set benchmark measures no variant like the configured {config.model_dump()}: "
        "add it to VARIANTS (and its quantile to QUANTILES) and rerun the benchmark"
    )


OUTSIDE_SOURCES: Final = (
    "neither_development",
    "far_development",
    "neither_held_out",
    "far_held_out",
    "synthetic",
)
DEVELOPMENT_SOURCES: Final = ("neither_development", "far_development")
HELD_OUT_SOURCES: Final = ("neither_held_out", "far_held_out", "synthetic")


@dataclass(frozen=True)
class Outputs:
    """The served model's outputs on one group of pictures."""

    embeddings: npt.NDArray[np.float32]
    probabilities: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64] | None
    """Class indices of in-domain photos; None out of domain."""
    blocks: npt.NDArray[np.float32] | None = None
    """The `blocks` features of the same pictures (benchmarks/open_set_blocks.py), when computed."""


def features_for(variant: Variant, groups: dict[str, Outputs]) -> dict[str, Outputs]:
    """The groups as the variant scores them: unchanged, or (`blocks` variants) with the `blocks`
    features in place of the embeddings."""
    if not variant.blocks:
        return groups
    view = {}
    for name, group in groups.items():
        if group.blocks is None:
            raise ValueError(f"{variant.name} needs the blocks features, which {name} lacks")
        view[name] = Outputs(group.blocks, group.probabilities, group.labels)
    return view


def _pictures(blobs: list[bytes]) -> list[Photo]:
    return [Photo(f"generated/{index}", data, None, None) for index, data in enumerate(blobs)]


def derived_outputs(
    runner: OnnxClassifier, blocks: BlockFeatures, train: list[Photo], seed: int, size: int
) -> Outputs:
    """The served model's outputs on the DERIVED pictures training makes from these train photos."""
    pictures = derived_negatives(model_inputs(train, size), DERIVED, seed)
    outputs = runner.outputs(pictures.astype(np.float32))
    return Outputs(outputs[1], outputs[0], None, blocks(pictures, outputs[1]))


def run_model(runner: OnnxClassifier, blocks: BlockFeatures, photos: Sequence[Photo], size: int) -> Outputs:
    """The ONNX model's probabilities and embeddings for the photos, decoded like uploads, and
    their `blocks` features."""
    images = model_inputs(list(photos), size)
    outputs = runner.outputs(images.astype(np.float32))
    if len(outputs) < 2:
        raise SystemExit("the ONNX model has no embedding output: export it with embedding=True")
    labels = [LABELS.index(p.label) for p in photos if p.label is not None]
    return Outputs(
        embeddings=outputs[1],
        probabilities=outputs[0],
        labels=np.asarray(labels, dtype=np.int64) if len(labels) == len(photos) else None,
        blocks=blocks(images, outputs[1]),
    )


def model_for_split(seed: int | None, onnx: Path | None) -> tuple[Path, Path, list[Photo]]:
    """The ONNX model trained on this split (trained and cached on first use), its Keras model
    (for the `blocks` features) and the split's photos."""
    photos = dataset_photos(seed=seed)
    if onnx is not None:
        keras_file = onnx.parent / KERAS_FILE
        if not keras_file.exists():
            raise SystemExit(
                f"--onnx needs the model's Keras file next to it for the blocks features: {keras_file}"
            )
        return onnx, keras_file, photos
    folder = cached_keras_model(photos)
    return cached_onnx_model(folder, photos), folder / KERAS_FILE, photos


def fit_variant(variant: Variant, train: Outputs, negatives: list[Outputs]) -> Scorer:
    """The variant fitted on the train split (and, for outlier exposure, on `negatives`)."""
    if train.labels is None:
        raise SystemExit("the train photos have no labels")
    options: dict[str, Any] = {
        key: int(value) if key in ("k", "components") else value for key, value in variant.options.items()
    }
    if variant.method in NEEDS_NEGATIVES:
        options["negatives"] = np.concatenate([group.embeddings for group in negatives])
    labels = [LABELS[i] for i in train.labels]
    if not variant.per_class:
        return fit_scorer(variant.method, train.embeddings, labels, **options)
    by_class = []
    for index, label in enumerate(LABELS):
        rows = train.labels == index
        by_class.append(
            fit_scorer(variant.method, train.embeddings[rows], [label] * int(rows.sum()), **options)
        )
    return PerClassScorer(tuple(by_class))


def _generated(variant: Variant, groups: dict[str, Outputs]) -> Outputs:
    """The generated negatives the variant learns from (besides the development flowers)."""
    first = groups["synthetic_training"]
    if not variant.more_negatives:
        return first
    return _joined([first, groups["derived_training"]])


def _negatives(variant: Variant, groups: dict[str, Outputs]) -> list[Outputs]:
    """Every out-of-domain group the variant learns from (when it learns from any)."""
    learned = [_generated(variant, groups), groups["neither_development"]]
    return [*learned, groups["far_development"]] if variant.far else learned


def _joined(parts: Sequence[Outputs]) -> Outputs:
    """Out-of-domain groups as one."""
    return Outputs(
        np.concatenate([part.embeddings for part in parts]),
        np.concatenate([part.probabilities for part in parts]),
        None,
    )


def _rows(group: Outputs, rows: npt.NDArray[np.int64]) -> Outputs:
    labels = None if group.labels is None else group.labels[rows]
    blocks = None if group.blocks is None else group.blocks[rows]
    return Outputs(group.embeddings[rows], group.probabilities[rows], labels, blocks)


def train_out_of_fold(variant: Variant, train: Outputs, negatives: list[Outputs]) -> FloatArray:
    """Each train photo's score from the variant fitted without its fold (CALIBRATION_FOLDS)."""
    return out_of_fold_scores(
        lambda rows: fit_variant(variant, _rows(train, rows), negatives),
        train.embeddings,
        train.probabilities,
        CALIBRATION_FOLDS,
    )


def calibrated_variant(
    variant: Variant,
    train: Outputs,
    negatives: list[Outputs],
    validation: Outputs,
    out_of_fold: FloatArray | None = None,
) -> tuple[Scorer, dict[str, float]]:
    """The fitted variant and its threshold at each quantile, as training calibrates it: of the
    validation scores, or (`pooled`) of those and the train photos' matched out-of-fold scores
    (`out_of_fold`, computed when not given)."""
    scorer = fit_variant(variant, train, negatives)
    scores = scorer.scores(validation.embeddings, validation.probabilities)
    if variant.calibration != "pooled":
        return scorer, {str(q): threshold_at_quantile(scores, q) for q in QUANTILES}
    if out_of_fold is None:
        out_of_fold = train_out_of_fold(variant, train, negatives)
    return scorer, {str(q): pooled_threshold(scores, out_of_fold, q) for q in QUANTILES}


def development_folds(group: Outputs) -> tuple[Outputs, Outputs]:
    """A development group in two halves (alternate rows: each flower kind in both)."""
    halves = [Outputs(group.embeddings[start::2], group.probabilities[start::2], None) for start in (0, 1)]
    return halves[0], halves[1]


def cross_validated_development(variant: Variant, groups: dict[str, Outputs]) -> dict[str, Any]:
    """Per quantile, the share of development pictures (flowers and far-domain) flagged by a scorer
    not fitted on them, and the validation-vs-development AUROC of those scores (validation and
    development data only). Every variant is judged on the same pictures: one that does not learn
    from far-domain pictures is still measured on them."""
    validation = groups["validation"]
    if variant.method not in NEEDS_NEGATIVES:
        development = _joined([groups[source] for source in DEVELOPMENT_SOURCES])
        folds = [(*calibrated_variant(variant, groups["train"], [], validation), development)]
    else:
        flowers = development_folds(groups["neither_development"])
        far = development_folds(groups["far_development"])
        synthetic = _generated(variant, groups)
        folds = []
        for fit_half, measure_half in ((0, 1), (1, 0)):
            learned = [synthetic, flowers[fit_half], *([far[fit_half]] if variant.far else [])]
            scorer, thresholds = calibrated_variant(variant, groups["train"], learned, validation)
            folds.append((scorer, thresholds, _joined([flowers[measure_half], far[measure_half]])))
    flagged: dict[str, list[float]] = {str(q): [] for q in QUANTILES}
    aurocs = []
    for scorer, thresholds, measured in folds:
        validation_scores = scorer.scores(validation.embeddings, validation.probabilities)
        development_scores = scorer.scores(measured.embeddings, measured.probabilities)
        for quantile in QUANTILES:
            flagged[str(quantile)].append(float((development_scores > thresholds[str(quantile)]).mean()))
        # Each fold's scores against its own validation scores: AUROC averaged over the folds.
        pooled = np.concatenate([validation_scores, development_scores])
        aurocs.append(roc_auc(np.arange(len(pooled)) >= len(validation_scores), pooled))
    return {
        "flagged": {q: float(np.mean(values)) for q, values in flagged.items()},
        "auroc": float(np.mean(aurocs)),
    }


def measure_variant(variant: Variant, groups: dict[str, Outputs]) -> dict[str, Any]:
    """AUROCs and, at each quantile, refusal, flag rates and accuracies of one method on one split."""
    groups = features_for(variant, groups)
    negatives = _negatives(variant, groups)
    out_of_fold = train_out_of_fold(variant, groups["train"], negatives)
    scorer, thresholds = calibrated_variant(
        variant, groups["train"], negatives, groups["validation"], out_of_fold
    )
    scores = {name: scorer.scores(group.embeddings, group.probabilities) for name, group in groups.items()}
    # In-domain photos no threshold-setting fit saw as train photos: the validation split and the
    # train split's out-of-fold scores matched to it (greenr/open_set/calibration.py).
    in_domain = np.concatenate([scores["validation"], matched_to(scores["validation"], out_of_fold)])
    test = groups["test"]
    assert test.labels is not None
    correct = test.probabilities.argmax(axis=1) == test.labels
    auroc = {}
    for source in (*OUTSIDE_SOURCES, "validation"):
        pooled = np.concatenate([scores["test"], scores[source]])
        outside = np.arange(len(pooled)) >= len(scores["test"])
        auroc[source] = roc_auc(outside, pooled)
    at_quantile = {}
    for quantile in QUANTILES:
        threshold = thresholds[str(quantile)]
        refused = scores["test"] > threshold
        held_out = np.concatenate([scores[s] for s in HELD_OUT_SOURCES])
        at_quantile[str(quantile)] = {
            "threshold": threshold,
            "validation_refusal_rate": float((scores["validation"] > threshold).mean()),
            "in_domain_refusal_rate": float((in_domain > threshold).mean()),
            "test_refusal_rate": float(refused.mean()),
            "flagged": {s: float((scores[s] > threshold).mean()) for s in OUTSIDE_SOURCES},
            "held_out_flagged": float((held_out > threshold).mean()),
            "test_accuracy_all": float(correct.mean()),
            "test_accuracy_accepted": float(correct[~refused].mean()) if (~refused).any() else float("nan"),
            "missed_held_out": _missed(scores, threshold),
        }
    return {
        "auroc": auroc,
        "quantiles": at_quantile,
        "development_cross_validated": cross_validated_development(variant, groups),
    }


def scoring_ms(scorer: Scorer, group: Outputs, repeats: int = SCORING_REPEATS) -> list[float]:
    """Per pass, the mean milliseconds to score and judge one photo alone (a one-photo request in
    the model server: `scores` and `rejected` on a 1 x D batch), over the group's photos."""
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for index in range(len(group.embeddings)):
            rows = slice(index, index + 1)
            scorer.rejected(scorer.scores(group.embeddings[rows], group.probabilities[rows]))
        passes.append((time.perf_counter() - started) * 1000.0 / len(group.embeddings))
    return passes


def serving_cost(variants: Sequence[Variant], groups: dict[str, Outputs]) -> dict[str, Any]:
    """Milliseconds per photo of each variant's scoring, in turn and repeated (median and passes)."""
    views = {v.name: features_for(v, groups) for v in variants}
    scorers = {
        v.name: calibrated_variant(
            v,
            views[v.name]["train"],
            _negatives(v, views[v.name]),
            views[v.name]["validation"],
        )[0]
        for v in variants
    }
    passes: dict[str, list[float]] = {name: [] for name in scorers}
    for _ in range(SCORING_REPEATS):
        for name, scorer in scorers.items():
            passes[name] += scoring_ms(scorer, views[name]["test"], repeats=1)
    return {name: {"median_ms": float(np.median(p)), "passes_ms": p} for name, p in passes.items()}


def _missed(scores: dict[str, npt.NDArray[np.float64]], threshold: float) -> int:
    return int(sum((scores[s] <= threshold).sum() for s in HELD_OUT_SOURCES))


def choose(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The variant and quantile flagging most development pictures (flowers and far-domain;
    cross-validated: never pictures the scorer was fitted on) among those whose mean in-domain
    refusal rate (validation plus matched out-of-fold train photos) is within the in-domain target;
    ties go to the better validation-vs-development AUROC (development data only)."""

    def mean(variant: Variant, *path: str) -> float:
        values = []
        for run in runs:
            node: Any = run["variants"][variant.name]
            for key in path:
                node = node[key]
            values.append(float(node))
        return float(np.mean(values))

    candidates = [
        (
            mean(v, "development_cross_validated", "flagged", str(q)),
            mean(v, "development_cross_validated", "auroc"),
            v,
            q,
        )
        for v in VARIANTS
        for q in QUANTILES
        if mean(v, "quantiles", str(q), "in_domain_refusal_rate") <= TARGETS["max_test_refusal_rate"]
    ]
    flagged, auroc, best, quantile = max(candidates, key=lambda c: (c[0], c[1]))
    return {
        "variant": best.name,
        "method": best.method,
        "options": best.options,
        "quantile": quantile,
        "development_flag_rate_cross_validated": flagged,
        "development_auroc_cross_validated": auroc,
    }


def summarize(runs: Sequence[dict[str, Any]], quantile: float) -> dict[str, dict[str, list[float]]]:
    """Per variant, at `quantile`: mean, min and max over the splits of each figure."""
    figures: dict[str, dict[str, list[float]]] = {}
    for variant in VARIANTS:
        values: dict[str, list[float]] = {}
        for run in runs:
            measured = run["variants"][variant.name]
            at = measured["quantiles"][str(quantile)]
            row = {f"auroc_{s}": measured["auroc"][s] for s in OUTSIDE_SOURCES}
            row |= {f"flagged_{s}": at["flagged"][s] for s in OUTSIDE_SOURCES}
            row |= {
                key: at[key]
                for key in (
                    "test_refusal_rate",
                    "held_out_flagged",
                    "test_accuracy_all",
                    "test_accuracy_accepted",
                )
            }
            for key, value in row.items():
                values.setdefault(key, []).append(value)
        figures[variant.name] = {
            k: [float(np.mean(v)), float(np.min(v)), float(np.max(v))] for k, v in values.items()
        }
    return figures


def print_table(summary: dict[str, dict[str, list[float]]], quantile: float) -> None:
    print(f"\nat the validation quantile {quantile} (mean over splits [min..max])")
    columns = (
        "auroc_neither_held_out",
        "auroc_far_held_out",
        "auroc_synthetic",
        "test_refusal_rate",
        "flagged_neither_held_out",
        "flagged_far_held_out",
        "flagged_synthetic",
        "held_out_flagged",
        "test_accuracy_accepted",
        "test_accuracy_all",
    )
    print(f"{'method':18}" + "".join(f"{c[:22]:>24}" for c in columns))
    for name, figures in summary.items():
        cells = "".join(
            f"{f'{m:.3f} [{lo:.2f}..{hi:.2f}]':>24}" for m, lo, hi in (figures[c] for c in columns)
        )
        print(f"{name:18}{cells}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--split-seeds", type=int, nargs="*", default=[], help="splits besides the ingestion's"
    )
    parser.add_argument(
        "--onnx",
        type=Path,
        help="explore with this ONNX model (ingestion split only, no training; its model.keras next to it)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    add_allow_dirty(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commit = measured_commit(args.allow_dirty)
    if args.onnx is not None and args.split_seeds:
        raise SystemExit("--onnx explores one model on the ingestion's split: drop --split-seeds")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = load_training_config()
    neither = neither_photos()
    far = far_domain_photos()
    outside = {
        "neither_development": neither["development"],
        "far_development": far["development"],
        "neither_held_out": neither["held_out"],
        "far_held_out": far["held_out"],
        "synthetic": synthetic_photos(),
    }
    # What the training step generates (other seed and content than the held-out "synthetic").
    generated = _pictures(
        synthetic_negatives(
            config.open_set.synthetic_negatives,
            config.open_set.negatives_seed,
            config.open_set.synthetic_kinds,
        )
    )
    started = time.perf_counter()
    runs = []
    first_groups: dict[str, Outputs] = {}
    for seed in [None, *args.split_seeds]:
        path, keras_file, photos = model_for_split(seed, args.onnx)
        runner = OnnxClassifier(path)
        blocks = BlockFeatures(keras_file)
        groups = {
            split: run_model(runner, blocks, [p for p in photos if p.split == split], config.image_size)
            for split in ("train", "validation", "test")
        }
        groups |= {
            name: run_model(runner, blocks, pictures, config.image_size) for name, pictures in outside.items()
        }
        groups["synthetic_training"] = run_model(runner, blocks, generated, config.image_size)
        groups["derived_training"] = derived_outputs(
            runner,
            blocks,
            [p for p in photos if p.split == "train"],
            config.open_set.negatives_seed,
            config.image_size,
        )
        first_groups = first_groups or groups
        runs.append(
            {
                "split_seed": seed,
                "photos": {name: len(group.probabilities) for name, group in groups.items()},
                "variants": {v.name: measure_variant(v, groups) for v in VARIANTS},
            }
        )
        log.info("split %s measured", "ingestion" if seed is None else seed)
    choice = choose(runs)
    by_name = {v.name: v for v in VARIANTS}
    configured, configured_quantile = configured_variant(config.open_set)
    timed = {v.name: v for v in (configured, by_name[choice["variant"]])}
    cost = serving_cost(list(timed.values()), first_groups)
    print(
        "scoring one photo in the model server's way (median ms): "
        + ", ".join(f"{name} {figures['median_ms']:.3f}" for name, figures in cost.items())
    )
    summary = summarize(runs, choice["quantile"])
    for quantile in QUANTILES:
        print_table(summarize(runs, quantile), quantile)
    print(f"\nchosen on validation + development pictures: {json.dumps(choice)}")
    chosen = summary[choice["variant"]]
    print(
        f"chosen, held out: test refusal {chosen['test_refusal_rate'][0]:.1%} (target <= "
        f"{TARGETS['max_test_refusal_rate']:.0%}), held-out out-of-domain flagged "
        f"{chosen['held_out_flagged'][0]:.1%} (target >= {TARGETS['min_held_out_flag_rate']:.0%})"
    )
    results = {
        "git_commit": commit,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": str(args.onnx) if args.onnx else "trained per split with configs/training.yaml",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "targets": TARGETS,
        "quantiles": QUANTILES,
        "sources": {name: [p.name for p in pictures] for name, pictures in outside.items()},
        "training_negatives": {
            "development_flowers": "neither_development",
            "development_far_domain": "far_development (the +far variants)",
            "generated": len(generated),
            "generated_kinds": config.open_set.synthetic_kinds,
            "generated_seed": config.open_set.negatives_seed,
            "derived_from_train_photos_for_more_negatives": DERIVED,
        },
        "choice": choice,
        "configured": {"variant": configured.name, "quantile": configured_quantile},
        "serving_cost_ms_per_photo": {"split": "ingestion", **cost},
        "chosen_summary": chosen,
        "summary_at_chosen_quantile": summary,
        "runs": runs,
        "seconds": time.perf_counter() - started,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
