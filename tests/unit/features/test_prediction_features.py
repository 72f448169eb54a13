"""All of a prediction's columns: exactly the feature set's names, None where a source is missing."""

from __future__ import annotations

import numpy as np
import pytest

from greenr.contracts import LABELS, POSITIVE_LABEL
from greenr.features.definitions import feature_set
from greenr.features.embedding_reduction import fit_reduction
from greenr.features.output_columns import output_columns
from greenr.features.prediction_features import prediction_features

PIXELS = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
TRAIN = np.random.default_rng(1).normal(size=(10, 6))
REDUCTION = fit_reduction(TRAIN, ["dandelion", "grass"] * 5)
JPEG_COLUMNS = {"jpeg_quality", "jpeg_compression"}  # empty unless the upload is a JPEG


def test_a_full_prediction_has_every_column_of_the_feature_set_and_nothing_else() -> None:
    features = prediction_features(
        feature_set(),
        model_input=PIXELS,
        width=300,
        height=200,
        probabilities=[0.8, 0.2],
        labels=LABELS,
        embedding=TRAIN[0],
        reduction=REDUCTION,
        jpeg_quality=85.0,
    )
    assert tuple(features) == feature_set().names()
    assert all(value is not None for value in features.values())
    assert features[f"p_{POSITIVE_LABEL}"] == pytest.approx(0.8 if LABELS[0] == POSITIVE_LABEL else 0.2)


def test_embedding_columns_are_none_without_an_embedding_or_a_reduction() -> None:
    for embedding, reduction in [(None, REDUCTION), (TRAIN[0], None)]:
        features = prediction_features(
            feature_set(),
            model_input=PIXELS,
            width=300,
            height=200,
            probabilities=[0.8, 0.2],
            labels=LABELS,
            embedding=embedding,
            reduction=reduction,
        )
        assert tuple(features) == feature_set().names()
        assert {name for name, value in features.items() if value is None} == set(
            feature_set().names("embedding")
        ) | JPEG_COLUMNS


def test_output_columns_are_none_without_probabilities() -> None:
    features = prediction_features(
        feature_set(),
        model_input=PIXELS,
        width=300,
        height=200,
        probabilities=None,
        labels=LABELS,
        embedding=TRAIN[0],
        reduction=REDUCTION,
    )
    assert {name for name, value in features.items() if value is None} == set(
        feature_set().names("output")
    ) | JPEG_COLUMNS


def test_output_columns() -> None:
    columns = output_columns([0.3, 0.7], ["dandelion", "grass"], ["p_dandelion"])
    assert columns == {"p_dandelion": 0.3, "confidence": 0.7, "label": "grass"}
    assert tuple(output_columns([0.3, 0.7], LABELS, ["p_dandelion"])) == feature_set().names("output")


def test_output_columns_refuse_what_does_not_match_the_model() -> None:
    with pytest.raises(ValueError, match="one per label"):
        output_columns([1.0], ["dandelion", "grass"], [])
    # A model of other classes is still described; its dandelion probability is unknown.
    assert output_columns([0.4, 0.6], ["cat", "dog"], ["p_dandelion"]) == {
        "p_dandelion": None,
        "confidence": 0.6,
        "label": "dog",
    }
