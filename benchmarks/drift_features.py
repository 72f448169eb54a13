"""Feature rows for the drift benchmark: uploads -> the real model -> the feature set's columns, and
the reference of the benchmark's model built the way training builds one.

Both go through the features helper's code (`greenr.features.prediction_features`), the model
server's decoding (`decode_sized_model_input`) and the exported ONNX model with its embedding
output, so a benchmark row is what the model server would log for that upload.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from greenr.contracts import LABELS
from greenr.export.onnx_runtime import OnnxClassifier
from greenr.features.definitions import FeatureSet
from greenr.features.embedding_reduction import EmbeddingReduction, fit_reduction
from greenr.features.prediction_features import prediction_features
from greenr.features.reference import FeatureReference, FeatureValue, ReferenceRow
from greenr.images.preprocess import SizedModelInput, decode_sized_model_input

from .drift_photos import MAX_PIXELS, Photo

Row = dict[str, FeatureValue]


def decode_uploads(uploads: Sequence[bytes], size: int) -> list[SizedModelInput]:
    """Each upload decoded like the model server decodes it."""
    return [decode_sized_model_input(data, MAX_PIXELS, size) for data in uploads]


def model_outputs(
    model: OnnxClassifier, inputs: Sequence[SizedModelInput]
) -> tuple[
    np.ndarray[tuple[int, int], np.dtype[np.float32]], np.ndarray[tuple[int, int], np.dtype[np.float32]]
]:
    """(probabilities N x 2, pooled-feature embedding N x D) of the decoded uploads."""
    batch = np.stack([item.pixels for item in inputs]).astype(np.float32)
    outputs = model.outputs(batch)
    if len(outputs) < 2:
        raise SystemExit(
            "the benchmark's ONNX model has no embedding output: re-export it (delete the cache)"
        )
    return outputs[0], outputs[1]


def feature_rows(
    model: OnnxClassifier,
    reduction: EmbeddingReduction,
    features: FeatureSet,
    inputs: Sequence[SizedModelInput],
    with_outputs: bool = True,
) -> list[Row]:
    """The feature columns of decoded uploads, as the model server computes them per prediction."""
    probabilities, embedding = model_outputs(model, inputs)
    return [
        prediction_features(
            features,
            model_input=item.pixels,
            width=item.width,
            height=item.height,
            probabilities=[float(p) for p in probabilities[i]] if with_outputs else None,
            labels=LABELS,
            embedding=embedding[i],
            reduction=reduction,
            jpeg_quality=item.jpeg_quality,
        )
        for i, item in enumerate(inputs)
    ]


def build_reference(
    model: OnnxClassifier, features: FeatureSet, photos: Sequence[Photo], size: int
) -> tuple[FeatureReference, EmbeddingReduction]:
    """The reference of the benchmark's model: the reduction fitted on the train photos' pooled
    features, then every train and validation photo's columns (outputs on validation rows only)."""
    train = [p for p in photos if p.split == "train"]
    validation = [p for p in photos if p.split == "validation"]
    train_inputs = decode_uploads([p.data for p in train], size)
    validation_inputs = decode_uploads([p.data for p in validation], size)
    _, train_embedding = model_outputs(model, train_inputs)
    reduction = fit_reduction(train_embedding, [str(p.label) for p in train])
    rows = [
        ReferenceRow(split="train", label=str(p.label), features=row)
        for p, row in zip(train, feature_rows(model, reduction, features, train_inputs, False), strict=True)
    ] + [
        ReferenceRow(split="validation", label=str(p.label), features=row)
        for p, row in zip(
            validation, feature_rows(model, reduction, features, validation_inputs), strict=True
        )
    ]
    reference = FeatureReference(
        feature_set_name=features.name,
        feature_set_version=features.version,
        column_versions=features.column_versions(),
        model_name="drift-benchmark",
        rows=rows,
    )
    return reference, reduction
