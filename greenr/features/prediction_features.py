"""Every column of the feature set for one prediction: what serving returns and training stores.

The model server calls `prediction_features` for each photo it answers; the training pipeline
calls it for each train and validation photo of the reference, through the same exported model,
so production rows and the reference are computed by the same code. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from greenr.features.definitions import FeatureSet
from greenr.features.embedding_reduction import EmbeddingReduction, embedding_columns
from greenr.features.image_columns import image_columns
from greenr.features.output_columns import PROBABILITY_PREFIX, output_columns

ColumnValue = float | int | str | None
"""One column's value (`greenr.features.reference.FeatureValue`, without importing pydantic)."""


def prediction_features(
    features: FeatureSet,
    *,
    model_input: npt.NDArray[np.uint8],
    width: int,
    height: int,
    probabilities: Sequence[float] | None,
    labels: Sequence[str],
    embedding: npt.ArrayLike | None,
    reduction: EmbeddingReduction | None,
    jpeg_quality: float | None = None,
) -> dict[str, ColumnValue]:
    """The feature set's columns, in its order; None where a source is missing.

    Embedding columns are None when the model has no embedding output (exported before it) or no
    reduction was published with it; output columns are None when `probabilities` is None (the
    reference's train rows); the JPEG columns are None when `jpeg_quality` is (not a JPEG).
    """
    computed: dict[str, ColumnValue] = dict(image_columns(model_input, width, height, jpeg_quality))
    if embedding is not None and reduction is not None:
        computed.update(embedding_columns(reduction, embedding))
    if probabilities is not None:
        wanted = [name for name in features.names("output") if name.startswith(PROBABILITY_PREFIX)]
        computed.update(output_columns(probabilities, labels, wanted))
    return {name: computed.get(name) for name in features.names()}
