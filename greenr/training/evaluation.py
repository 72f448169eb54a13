"""Evaluate a classifier on one split: metrics, per-image probabilities and report plots.

Positive class: `greenr.contracts.POSITIVE_LABEL` ("dandelion", at `POSITIVE_CLASS_INDEX` of the
labels). Precision, recall and F1 are those of that class, and ROC AUC ranks images by its
probability.
That matches the registry's promotion scores (greenr/registry/scoring.py).

Expected calibration error (ECE) uses 10 equal-width bins of the confidence (the top-class
probability), bin k holding confidences in (k/10, (k+1)/10]: the sum over bins of
|accuracy - mean confidence| weighted by the bin's share of images.

Plots are drawn on `matplotlib.figure.Figure` objects with the Agg canvas, never pyplot, so
nothing global changes and any thread can write them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenr.contracts import POSITIVE_CLASS_INDEX
from greenr.training.data import SplitArrays

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    """One confidence bin of the reliability diagram."""

    lower: float
    upper: float
    count: int
    accuracy: float  # nan when empty
    confidence: float  # mean top-class probability; nan when empty


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics of a model on one split, with every image's probabilities."""

    labels: tuple[str, ...]
    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float  # nan when the split holds a single class
    ece: float
    confusion_matrix: list[list[int]]  # [true][predicted], both in `labels` order
    calibration: list[CalibrationBin]
    true_labels: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float32]  # N×len(labels)
    sha256: list[str]

    @property
    def positive_label(self) -> str:
        """The class that precision, recall, F1 and ROC AUC are about."""
        return self.labels[POSITIVE_CLASS_INDEX]

    @property
    def predicted(self) -> npt.NDArray[np.int64]:
        """Predicted class index of each image."""
        return np.asarray(self.probabilities.argmax(axis=1), dtype=np.int64)

    @property
    def misclassified(self) -> npt.NDArray[np.int64]:
        """Indices (into this report's images) of the wrong predictions."""
        return np.asarray(np.nonzero(self.predicted != self.true_labels)[0], dtype=np.int64)

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """Scalar metrics, e.g. for an experiment tracker (`prefix="test_"`)."""
        values = {
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "roc_auc": self.roc_auc,
            "ece": self.ece,
            "n": float(self.n),
            "errors": float(len(self.misclassified)),
        }
        return {f"{prefix}{key}": value for key, value in values.items()}

    def predictions(self) -> list[dict[str, Any]]:
        """Per-image rows: sha256, true and predicted label, probability of every class."""
        predicted = self.predicted
        return [
            {
                "sha256": sha,
                "label": self.labels[int(self.true_labels[i])],
                "predicted": self.labels[int(predicted[i])],
                **{f"p_{label}": float(self.probabilities[i, k]) for k, label in enumerate(self.labels)},
            }
            for i, sha in enumerate(self.sha256)
        ]


def _safe_ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def roc_auc(is_positive: npt.NDArray[np.bool_], scores: npt.NDArray[np.floating[Any]]) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties count one half); nan with a single class."""
    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    start = 0
    # Average ranks over runs of equal scores.
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    rank_sum = float(ranks[is_positive].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def calibration_bins(
    correct: npt.NDArray[np.bool_], confidence: npt.NDArray[np.floating[Any]], bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Equal-width confidence bins (k/bins, (k+1)/bins]; a confidence of 0 falls in the first."""
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    result = []
    for k in range(bins):
        mask = index == k
        count = int(mask.sum())
        result.append(
            CalibrationBin(
                lower=k / bins,
                upper=(k + 1) / bins,
                count=count,
                accuracy=float(correct[mask].mean()) if count else math.nan,
                confidence=float(confidence[mask].mean()) if count else math.nan,
            )
        )
    return result


def expected_calibration_error(bins: Sequence[CalibrationBin]) -> float:
    """Sum over bins of |accuracy - confidence| weighted by the bin's share of images."""
    total = sum(b.count for b in bins)
    return sum(b.count / total * abs(b.accuracy - b.confidence) for b in bins if b.count) if total else 0.0


def report_from_probabilities(
    probabilities: npt.NDArray[np.floating[Any]],
    true_labels: npt.NDArray[np.integer[Any]],
    labels: Sequence[str],
    sha256: Sequence[str] | None = None,
) -> EvaluationReport:
    """All metrics from N×C probabilities and integer labels (no model needed)."""
    probs = np.asarray(probabilities, dtype=np.float32)
    truth = np.asarray(true_labels, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[1] != len(labels) or len(probs) != len(truth):
        raise ValueError(
            f"probabilities {probs.shape} do not fit {len(truth)} labels over {len(labels)} classes"
        )
    if len(truth) == 0:
        raise ValueError("cannot evaluate on an empty split")
    predicted = probs.argmax(axis=1)
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    tp = int(matrix[POSITIVE_CLASS_INDEX, POSITIVE_CLASS_INDEX])
    fp = int(matrix[:, POSITIVE_CLASS_INDEX].sum()) - tp
    fn = int(matrix[POSITIVE_CLASS_INDEX, :].sum()) - tp
    precision = _safe_ratio(tp, tp + fp)
    recall = _safe_ratio(tp, tp + fn)
    bins = calibration_bins(predicted == truth, probs.max(axis=1))
    return EvaluationReport(
        labels=tuple(labels),
        n=len(truth),
        accuracy=float((predicted == truth).mean()),
        precision=precision,
        recall=recall,
        f1=_safe_ratio(2 * precision * recall, precision + recall),
        roc_auc=roc_auc(truth == POSITIVE_CLASS_INDEX, probs[:, POSITIVE_CLASS_INDEX]),
        ece=expected_calibration_error(bins),
        confusion_matrix=matrix.tolist(),
        calibration=bins,
        true_labels=truth,
        probabilities=probs,
        sha256=list(sha256) if sha256 is not None else [str(i) for i in range(len(truth))],
    )


def predict_probabilities(
    model: Any, images: npt.NDArray[np.uint8], batch_size: int = 64
) -> npt.NDArray[np.float32]:
    """N×C probabilities of a Keras model, in batches through one traced graph (no `predict`)."""
    from greenr.training.model import batched_outputs

    return np.asarray(batched_outputs(model, images, batch_size), dtype=np.float32)


def evaluate(model: Any, split_arrays: SplitArrays, labels: Sequence[str]) -> EvaluationReport:
    """Metrics of `model` on one split; `labels` in class-index order (ImageRules' labels)."""
    probabilities = predict_probabilities(model, split_arrays.images)
    return report_from_probabilities(probabilities, split_arrays.labels, labels, split_arrays.sha256)


# --- plots -----------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def write_confusion_matrix_png(report: EvaluationReport, path: Path) -> Path:
    """Confusion matrix heat map (rows: true class, columns: predicted class) with counts."""
    figure = _new_figure(4.2, 3.8)
    axes = figure.add_subplot()
    matrix = np.asarray(report.confusion_matrix)
    axes.imshow(matrix, cmap="Greens", vmin=0, vmax=max(1, int(matrix.max())))
    ticks = range(len(report.labels))
    axes.set_xticks(list(ticks), labels=list(report.labels))
    axes.set_yticks(list(ticks), labels=list(report.labels))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for row in ticks:
        for column in ticks:
            value = int(matrix[row, column])
            dark = value > matrix.max() / 2
            axes.text(column, row, str(value), ha="center", va="center", color="white" if dark else "black")
    axes.set_title(f"accuracy {report.accuracy:.1%} (n={report.n})")
    figure.tight_layout()
    return _save(figure, path)


def write_reliability_png(report: EvaluationReport, path: Path) -> Path:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with bin counts."""
    figure = _new_figure(4.6, 4.2)
    axes = figure.add_subplot()
    filled = [b for b in report.calibration if b.count]
    width = 1.0 / len(report.calibration)
    axes.bar(
        [b.lower for b in filled],
        [b.accuracy for b in filled],
        width=width,
        align="edge",
        edgecolor="black",
        color="#6aa84f",
        label="accuracy",
    )
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(
        [b.confidence for b in filled], [b.accuracy for b in filled], "o", color="black", label="mean conf."
    )
    for b in filled:
        axes.text(b.lower + width / 2, 0.02, str(b.count), ha="center", fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("confidence (top-class probability)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"reliability, ECE {report.ece:.3f}")
    axes.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    return _save(figure, path)


def write_misclassified_grid_png(
    report: EvaluationReport, images: npt.NDArray[np.uint8], path: Path, max_images: int = 36
) -> Path:
    """Grid of the wrong predictions (true / predicted label, P(predicted)); a note when none."""
    wrong = report.misclassified[:max_images]
    if len(wrong) == 0:
        figure = _new_figure(4, 1.5)
        figure.text(0.5, 0.5, f"no misclassified images (n={report.n})", ha="center", va="center")
        return _save(figure, path)
    columns = min(6, len(wrong))
    rows = math.ceil(len(wrong) / columns)
    figure = _new_figure(2.2 * columns, 2.5 * rows)
    predicted = report.predicted
    for slot, index in enumerate(wrong):
        axes = figure.add_subplot(rows, columns, slot + 1)
        axes.imshow(images[index])
        axes.axis("off")
        guess = int(predicted[index])
        axes.set_title(
            f"true {report.labels[int(report.true_labels[index])]}\n"
            f"pred {report.labels[guess]} p={report.probabilities[index, guess]:.2f}\n"
            f"{report.sha256[index][:10]}",
            fontsize=7,
        )
    figure.suptitle(f"{len(report.misclassified)} misclassified of {report.n}", fontsize=9)
    figure.tight_layout()
    return _save(figure, path)
