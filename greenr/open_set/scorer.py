"""Open-set rejection: a score telling how unlike the training photos a photo is, and its threshold.

A two-class model answers "dandelion" or "grass" for anything; the score, computed from what the
served model already outputs (the backbone's pooled `embedding` and the class probabilities),
lets it answer "neither" instead. Higher scores mean less like the train split. A photo whose
score is above `threshold` is rejected.

The fitted numbers travel as one JSON file (`OPEN_SET_FILE`) next to the ONNX model: numpy and
the standard library are all the model server needs to read and apply it. Arrays are stored as
base64 of little-endian float32 (a k-NN bank of a few hundred 1280-d vectors is ~2 MB).

Methods (compared by benchmarks/open_set_benchmark.py):
- `mahalanobis`: the smallest class-conditional Mahalanobis distance (shared, shrunk covariance)
  in the train split's principal subspace (Lee et al., 2018).
- `knn`: cosine distance to the k-th nearest train photo (Sun et al., 2022).
- `max_probability`: 1 - the largest class probability (the baseline; blind to far-domain
  photos that the head happens to be sure about).
- `outlier_exposure`: the logit of a logistic regression telling the train split (in domain) from
  out-of-domain development pictures (Hendrycks et al., 2019), fitted on the centred unit
  embeddings plus, when k > 0, the knn distance as one more feature (so pictures far from
  everything, which no development negative resembles, still score high). The only method that
  learns what "neither" looks like; the others see in-domain photos only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

NEITHER: Final = "neither"
"""The answer for a rejected photo (greenr.contracts.Answer spells it too; a test compares)."""
OPEN_SET_FILE: Final = "open_set.json"
"""File name of the fitted scorer, in the MLflow run's artifacts and the serving artifact's folder."""
FORMAT: Final = "greenr-open-set"
FORMAT_VERSION: Final = 1
METHODS: Final = ("mahalanobis", "knn", "max_probability", "outlier_exposure")
_REQUIRED: Final = {
    "mahalanobis": (("mean", "axes", "class_means", "precision"), ()),
    "knn": (("mean", "bank"), ("k",)),
    "max_probability": ((), ()),
    "outlier_exposure": (("mean", "centre", "weights", "intercept"), ("k", "scale", "knn_scale")),
}
"""The arrays and options each method's file must hold (checked when it is read)."""
NEEDS_NEGATIVES: Final = ("outlier_exposure",)
"""Methods fitted on out-of-domain development pictures as well as the train split."""

FloatArray = npt.NDArray[np.float64]


class OpenSetError(ValueError):
    """The scorer cannot be fitted, read or applied (the message says why)."""


@dataclass(frozen=True)
class OpenSetScorer:
    """A fitted open-set score and the threshold above which a photo is answered "neither"."""

    method: str
    threshold: float
    """Scores above it are rejected; +inf until `with_threshold` calibrates it."""
    arrays: Mapping[str, FloatArray]
    """The method's fitted numbers (see `fit_scorer`)."""
    options: Mapping[str, float] = field(default_factory=dict)
    """The method's settings (k for knn, components and shrinkage for mahalanobis)."""
    calibration: Mapping[str, float] = field(default_factory=dict)
    """How the threshold was chosen and what it gave (reported, not used to score)."""

    @property
    def dimensions(self) -> int | None:
        """The embedding size the scorer was fitted on; None for `max_probability`."""
        mean = self.arrays.get("mean")
        return None if mean is None else int(mean.shape[-1])

    def scores(self, embeddings: npt.ArrayLike | None, probabilities: npt.ArrayLike) -> FloatArray:
        """One score per photo (N,), from the pooled features (N x D) and probabilities (N x C).

        Raises:
            OpenSetError: the method needs embeddings and got none, or ones of another size.
        """
        probs = np.asarray(probabilities, dtype=np.float64)
        if self.method == "max_probability":
            result: FloatArray = 1.0 - probs.max(axis=1)
            return result
        if embeddings is None:
            raise OpenSetError(f"the {self.method} open-set score needs the model's embedding output")
        data = np.asarray(embeddings, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.dimensions:
            raise OpenSetError(
                f"embeddings of shape {data.shape} for a scorer fitted on {self.dimensions} values: "
                "use the open-set file published with this model"
            )
        if self.method == "mahalanobis":
            return _mahalanobis_scores(self.arrays, data)
        if self.method == "knn":
            return _knn_scores(self.arrays, data, int(self.options["k"]))
        if self.method == "outlier_exposure":
            return _outlier_exposure_scores(self.arrays, self.options, data)
        raise OpenSetError(f"unknown open-set method {self.method!r}: one of {', '.join(METHODS)}")

    def rejected(self, scores: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where a photo is answered "neither"."""
        return np.asarray(scores, dtype=np.float64) > self.threshold

    def with_threshold(self, threshold: float, calibration: Mapping[str, float]) -> OpenSetScorer:
        return replace(self, threshold=float(threshold), calibration=dict(calibration))


def fit_scorer(
    method: str,
    embeddings: npt.ArrayLike,
    labels: Sequence[str],
    *,
    k: int = 5,
    components: int = 64,
    shrinkage: float = 0.1,
    negatives: npt.ArrayLike | None = None,
    penalty: float = 0.01,
) -> OpenSetScorer:
    """Fit `method` on the train split's pooled features (N x D) and true labels; threshold +inf.
    `negatives` (M x D): pooled features of out-of-domain development pictures, for the methods
    in NEEDS_NEGATIVES (`penalty`: their L2 penalty).

    Raises:
        OpenSetError: an unknown method, too few photos, labels that do not match the rows, or
            a method needing negatives without them.
    """
    if method not in METHODS:
        raise OpenSetError(f"unknown open-set method {method!r}: one of {', '.join(METHODS)}")
    data = np.asarray(embeddings, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2 or len(labels) != data.shape[0]:
        raise OpenSetError(
            f"fitting needs N x D train features (N >= 2) and one label per row; "
            f"got shape {data.shape} and {len(labels)} labels"
        )
    mean = data.mean(axis=0)
    if method == "max_probability":
        return OpenSetScorer(method=method, threshold=float("inf"), arrays={})
    if method == "knn":
        if not 1 <= k <= data.shape[0]:
            raise OpenSetError(f"k = {k} needs 1..{data.shape[0]} train photos")
        bank = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
        return OpenSetScorer(
            method=method, threshold=float("inf"), arrays={"mean": mean, "bank": bank}, options={"k": k}
        )
    if method == "outlier_exposure":
        return _fit_outlier_exposure(data, _negatives(negatives, data.shape[1]), k, penalty)
    # mahalanobis: principal subspace of the centred features, class means in it, shared
    # covariance of the within-class residuals, shrunk toward its average variance.
    _, spreads, axes = np.linalg.svd(data - mean, full_matrices=False)
    kept = axes[: min(components, int((spreads > 1e-9 * spreads[0]).sum()))]
    projected = (data - mean) @ kept.T
    label_array = np.asarray(labels)
    classes = sorted(set(labels))
    means = np.stack([projected[label_array == label].mean(axis=0) for label in classes])
    residuals = projected - means[[classes.index(label) for label in labels]]
    covariance = residuals.T @ residuals / max(len(residuals) - len(classes), 1)
    average = float(np.trace(covariance)) / covariance.shape[0]
    covariance = (1 - shrinkage) * covariance + shrinkage * average * np.eye(covariance.shape[0])
    precision = np.linalg.inv(covariance)
    return OpenSetScorer(
        method=method,
        threshold=float("inf"),
        arrays={"mean": mean, "axes": kept, "class_means": means, "precision": precision},
        options={"components": float(kept.shape[0]), "shrinkage": shrinkage},
    )


def _mahalanobis_scores(arrays: Mapping[str, FloatArray], data: FloatArray) -> FloatArray:
    projected = (data - arrays["mean"]) @ arrays["axes"].T
    differences = projected[:, None, :] - arrays["class_means"][None, :, :]
    squared = np.einsum("nci,ij,ncj->nc", differences, arrays["precision"], differences)
    result: FloatArray = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return result


def _knn_scores(arrays: Mapping[str, FloatArray], data: FloatArray, k: int) -> FloatArray:
    unit = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
    distances = 1.0 - unit @ arrays["bank"].T
    result: FloatArray = np.sort(distances, axis=1)[:, k - 1]
    return result


def _negatives(negatives: npt.ArrayLike | None, dimensions: int) -> FloatArray:
    array = np.asarray([] if negatives is None else negatives, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != dimensions:
        raise OpenSetError(
            f"outlier exposure needs the features of out-of-domain development pictures (M x {dimensions}); "
            f"got shape {array.shape}"
        )
    return array


def _unit(data: FloatArray) -> FloatArray:
    result: FloatArray = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
    return result


def _fit_outlier_exposure(train: FloatArray, negatives: FloatArray, k: int, penalty: float) -> OpenSetScorer:
    """Logistic regression, train split (0) vs negatives (1), each side weighing half."""
    if not 0 <= k < train.shape[0]:
        raise OpenSetError(f"k = {k} needs 0..{train.shape[0] - 1} train photos (0: no knn feature)")
    if penalty <= 0:
        raise OpenSetError(f"the outlier-exposure penalty must be above 0, got {penalty}")
    train_unit, negative_unit = _unit(train), _unit(negatives)
    centre = train_unit.mean(axis=0)
    # One scale for all dimensions: train rows have unit RMS norm, so the penalty means the same
    # whatever the embedding's size.
    scale = float(np.sqrt(((train_unit - centre) ** 2).sum(axis=1).mean())) or 1.0
    features = np.concatenate([train_unit, negative_unit]) - centre
    features /= scale
    arrays: dict[str, FloatArray] = {"mean": train.mean(axis=0), "centre": centre}
    options = {"k": float(k), "penalty": penalty, "scale": scale, "knn_scale": 1.0}
    extra = np.ones((len(features), 1))
    if k > 0:
        # A train photo's own distance is 0: it is measured to its k-th nearest *other* photo.
        train_knn = np.sort(1.0 - train_unit @ train_unit.T, axis=1)[:, k]
        negative_knn = np.sort(1.0 - negative_unit @ train_unit.T, axis=1)[:, k - 1]
        options["knn_scale"] = float(np.median(train_knn)) or 1.0
        knn = np.concatenate([train_knn, negative_knn])[:, None] / options["knn_scale"]
        extra = np.concatenate([extra, knn], axis=1)
        arrays["bank"] = train_unit
    targets = np.concatenate([np.zeros(len(train)), np.ones(len(negatives))])
    weights = np.where(targets == 1, 0.5 / len(negatives), 0.5 / len(train))
    coefficients = _logistic_regression(features, extra, targets, weights, penalty)
    arrays["weights"] = coefficients[: features.shape[1]]
    arrays["intercept"] = coefficients[features.shape[1] :]
    return OpenSetScorer(method="outlier_exposure", threshold=float("inf"), arrays=arrays, options=options)


def _logistic_regression(
    features: FloatArray,
    extra: FloatArray,
    targets: FloatArray,
    weights: FloatArray,
    penalty: float,
    iterations: int = 100,
) -> FloatArray:
    """Weighted L2-penalised logistic regression by Newton's method with step halving; the `extra`
    columns (the intercept, the knn feature) are not penalised. Coefficients of [features, extra]."""
    design = np.concatenate([features, extra], axis=1)
    ridge = np.full(design.shape[1], penalty)
    ridge[features.shape[1] :] = 0.0

    def objective(beta: FloatArray) -> float:
        logits = design @ beta
        losses = np.logaddexp(0.0, logits) - targets * logits
        return float(weights @ losses + 0.5 * (ridge * beta) @ beta)

    beta = np.zeros(design.shape[1])
    current = objective(beta)
    for _ in range(iterations):
        probabilities = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (weights * (probabilities - targets)) + ridge * beta
        curvature = weights * probabilities * (1.0 - probabilities)
        # A small floor keeps the unpenalised columns' block invertible on separable data.
        hessian = (design.T * curvature) @ design + np.diag(ridge + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-6:
            candidate = beta - size * step
            value = objective(candidate)
            if value <= current:
                break
            size /= 2
        else:
            break
        beta, previous, current = candidate, current, value
        if previous - current < 1e-12:
            break
    result: FloatArray = beta
    return result


def _outlier_exposure_scores(
    arrays: Mapping[str, FloatArray], options: Mapping[str, float], data: FloatArray
) -> FloatArray:
    unit = _unit(data)
    features = (unit - arrays["centre"]) / options["scale"]
    intercept = arrays["intercept"]
    logits = features @ arrays["weights"] + intercept[0]
    k = int(options["k"])
    if k > 0:
        distances = np.sort(1.0 - unit @ arrays["bank"].T, axis=1)[:, k - 1]
        logits = logits + intercept[1] * distances / options["knn_scale"]
    result: FloatArray = logits
    return result


def threshold_at_quantile(validation_scores: npt.ArrayLike, quantile: float) -> float:
    """The score below which `quantile` of the in-domain validation photos fall (their refusal
    rate is about 1 - quantile)."""
    scores = np.asarray(validation_scores, dtype=np.float64)
    if scores.size == 0:
        raise OpenSetError("no validation scores to calibrate the threshold on")
    return float(np.quantile(scores, quantile, method="higher"))


def _encode(array: FloatArray) -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(data.shape), "float32_base64": base64.b64encode(data.tobytes()).decode()}


def _decode(document: Mapping[str, Any]) -> FloatArray:
    raw = base64.b64decode(document["float32_base64"], validate=True)
    return np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(document["shape"])


def scorer_to_json(scorer: OpenSetScorer) -> str:
    """The scorer as JSON text (what `OPEN_SET_FILE` holds)."""
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "method": scorer.method,
        # JSON has no infinity: an uncalibrated scorer (rejects nothing) stores null.
        "threshold": scorer.threshold if np.isfinite(scorer.threshold) else None,
        "options": dict(scorer.options),
        "calibration": dict(scorer.calibration),
        "arrays": {name: _encode(array) for name, array in scorer.arrays.items()},
    }
    return json.dumps(document, separators=(",", ":"))


def _check_complete(scorer: OpenSetScorer) -> None:
    """Refuse a file lacking what its method scores with (found at load, not on the first photo)."""
    arrays, options = _REQUIRED[scorer.method]
    if scorer.method in ("knn", "outlier_exposure") and scorer.options.get("k", 0) > 0:
        arrays = (*arrays, "bank")
    missing = [name for name in arrays if name not in scorer.arrays]
    missing += [name for name in options if name not in scorer.options]
    if missing:
        raise OpenSetError(f"the {scorer.method} scorer lacks {', '.join(missing)}")
    dimensions = scorer.dimensions
    wrong = [
        name
        for name in ("bank", "centre", "weights", "axes")
        if name in scorer.arrays and scorer.arrays[name].shape[-1] != dimensions
    ]
    if wrong:
        raise OpenSetError(
            f"the {scorer.method} scorer's {', '.join(wrong)} do not have {dimensions} columns"
        )


def scorer_from_json(text: str | bytes) -> OpenSetScorer:
    """Read what `scorer_to_json` wrote.

    Raises:
        OpenSetError: not JSON, another format or version, an unknown method, or bad arrays.
    """
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
            raise OpenSetError(
                f"not a {FORMAT} v{FORMAT_VERSION} file (format {document.get('format')!r}, "
                f"version {document.get('format_version')!r})"
            )
        method = str(document["method"])
        if method not in METHODS:
            raise OpenSetError(f"unknown open-set method {method!r}: one of {', '.join(METHODS)}")
        threshold = document["threshold"]
        scorer = OpenSetScorer(
            method=method,
            threshold=float("inf") if threshold is None else float(threshold),
            arrays={name: _decode(value) for name, value in document["arrays"].items()},
            options={key: float(value) for key, value in document.get("options", {}).items()},
            calibration={key: float(value) for key, value in document.get("calibration", {}).items()},
        )
        _check_complete(scorer)
        return scorer
    except OpenSetError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise OpenSetError(f"unreadable open-set file: {error}") from None
