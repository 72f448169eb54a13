"""The `embedding` columns: the backbone's pooled features reduced with what the train split fitted.

`fit_reduction` runs once per model version, in training, on the train split's pooled features:
a PCA to `COMPONENTS` components and one centroid per class, plus the train split's median of
the distance to the nearest centroid. `embedding_columns` applies it to one photo, in training
(the reference) and in the model server (every prediction). The fitted numbers travel as a small
JSON file (`REDUCTION_FILE`, numbers and label names only) next to the ONNX model, so the model
server needs nothing but numpy to read and apply it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

REDUCTION_FILE: Final = "embedding_reduction.json"
"""File name of the fitted reduction, in the MLflow run's artifacts and in the serving artifact's folder."""
COMPONENTS: Final = 4
"""embedding_pc1 .. embedding_pc4 in feature_set.yaml."""
FORMAT: Final = "greenr-embedding-reduction"
FORMAT_VERSION: Final = 1


class EmbeddingReductionError(ValueError):
    """The reduction cannot be fitted, read or applied (the message says why)."""


@dataclass(frozen=True)
class EmbeddingReduction:
    """What the train split fitted: mean, principal axes, class centroids, median distance."""

    mean: npt.NDArray[np.float64]
    """(D,) mean of the train split's pooled features."""
    components: npt.NDArray[np.float64]
    """(COMPONENTS, D) principal axes, unit length; rows of zeros when the split has fewer ranks."""
    centroids: dict[str, npt.NDArray[np.float64]]
    """class label -> (D,) mean pooled features of its train photos."""
    median_distance: float
    """median over the train photos of the distance to the nearest centroid (> 0)."""

    @property
    def dimensions(self) -> int:
        return int(self.mean.shape[0])


def fit_reduction(embeddings: npt.ArrayLike, labels: Sequence[str]) -> EmbeddingReduction:
    """Fit the reduction on the train split's pooled features (N x D) and true labels (N).

    Each principal axis is signed so that its largest-magnitude weight is positive: the same
    photos give the same signs however the SVD happens to orient them.

    Raises:
        EmbeddingReductionError: fewer than 2 photos, labels that do not match the rows, or
            features that are all equal (no distance to normalise by).
    """
    data = np.asarray(embeddings, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise EmbeddingReductionError(
            "the embedding reduction needs at least 2 train photos' features as N x D, "
            f"got shape {data.shape}"
        )
    if len(labels) != data.shape[0]:
        raise EmbeddingReductionError(
            f"{len(labels)} labels for {data.shape[0]} feature rows: give one per row"
        )
    mean = data.mean(axis=0)
    spreads, axes = np.linalg.svd(data - mean, full_matrices=False)[1:]
    # Axes without spread (N - 1 < COMPONENTS photos) are arbitrary: left as zeros.
    axes = axes[:COMPONENTS][spreads[:COMPONENTS] > 1e-9 * max(float(spreads[0]), 1e-300)]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    components = np.zeros((COMPONENTS, data.shape[1]))
    components[: len(axes)] = axes
    label_array = np.asarray(labels)
    centroids = {str(label): data[label_array == label].mean(axis=0) for label in sorted(set(labels))}
    median = float(np.median(_nearest_centroid_distances(data, centroids)))
    if not median > 0:
        raise EmbeddingReductionError(
            "the train photos' features all sit on their class centroid: there is no distance to normalise by"
        )
    return EmbeddingReduction(mean=mean, components=components, centroids=centroids, median_distance=median)


def _nearest_centroid_distances(
    data: npt.NDArray[np.float64], centroids: dict[str, npt.NDArray[np.float64]]
) -> npt.NDArray[np.float64]:
    stacked = np.stack(list(centroids.values()))
    distances: npt.NDArray[np.float64] = np.linalg.norm(data[:, None, :] - stacked[None, :, :], axis=2).min(
        axis=1
    )
    return distances


def embedding_columns(reduction: EmbeddingReduction, embedding: npt.ArrayLike) -> dict[str, float]:
    """embedding_pc1..4 and embedding_distance of one photo's pooled features (D,).

    Raises:
        EmbeddingReductionError: the features do not have the fitted dimension (the reduction
            belongs to another model).
    """
    vector = np.asarray(embedding, dtype=np.float64).reshape(-1)
    if vector.shape[0] != reduction.dimensions:
        raise EmbeddingReductionError(
            f"the embedding has {vector.shape[0]} values but the reduction was fitted on "
            f"{reduction.dimensions}: use the reduction file published with this model"
        )
    projection = reduction.components @ (vector - reduction.mean)
    columns = {f"embedding_pc{i + 1}": float(value) for i, value in enumerate(projection)}
    distance = _nearest_centroid_distances(vector[None, :], reduction.centroids)[0]
    columns["embedding_distance"] = float(distance / reduction.median_distance)
    return columns


def reduction_to_json(reduction: EmbeddingReduction) -> str:
    """The reduction as JSON text (what `REDUCTION_FILE` holds)."""
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dimensions": reduction.dimensions,
        "mean": reduction.mean.tolist(),
        "components": reduction.components.tolist(),
        "centroids": {label: centroid.tolist() for label, centroid in reduction.centroids.items()},
        "median_distance": reduction.median_distance,
    }
    return json.dumps(document, separators=(",", ":"))


def reduction_from_json(text: str | bytes) -> EmbeddingReduction:
    """Read what `reduction_to_json` wrote.

    Raises:
        EmbeddingReductionError: not JSON, another format, or inconsistent shapes.
    """
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
            raise EmbeddingReductionError(
                f"{REDUCTION_FILE} is not a {FORMAT} version {FORMAT_VERSION} document: "
                "re-run training to refit it"
            )
        mean = np.asarray(document["mean"], dtype=np.float64)
        components = np.asarray(document["components"], dtype=np.float64)
        centroids = {str(k): np.asarray(v, dtype=np.float64) for k, v in document["centroids"].items()}
        median = float(document["median_distance"])
    except EmbeddingReductionError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise EmbeddingReductionError(
            f"{REDUCTION_FILE} is unreadable ({error}): re-run training to refit it"
        ) from None
    dims = mean.shape
    if (
        mean.ndim != 1
        or components.shape != (COMPONENTS, *dims)
        or not centroids
        or any(c.shape != dims for c in centroids.values())
        or not median > 0
    ):
        raise EmbeddingReductionError(
            f"{REDUCTION_FILE} has inconsistent shapes: re-run training to refit it"
        )
    return EmbeddingReduction(mean=mean, components=components, centroids=centroids, median_distance=median)
