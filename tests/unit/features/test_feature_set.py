"""The feature definition file: the project's parses, malformed ones are refused with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from greenr.contracts import LABELS, POSITIVE_LABEL
from greenr.features.definitions import FeatureSetError, feature_set, parse_feature_set
from greenr.features.reference import FeatureReference, ReferenceRow


def _document(**changes: Any) -> dict[str, Any]:
    column = {
        "name": "brightness",
        "source": "image",
        "type": "float",
        "version": 1,
        "definition": "mean luma",
    }
    document: dict[str, Any] = {"name": "set", "version": 1, "owner": "me", "columns": [column]}
    document.update(changes)
    return document


def test_the_project_feature_set_covers_image_embedding_and_outputs() -> None:
    features = feature_set()
    assert features.version >= 1
    assert {"brightness", "saturation", "hue", "width", "height", "aspect_ratio"} <= set(
        features.names("image")
    )
    assert len(features.names("embedding")) >= 2
    # The output columns name the project's classes (contracts.py is their home).
    assert f"p_{POSITIVE_LABEL}" in features.names("output")
    assert "label" in features.names("output")
    assert not features.column("label").numeric
    assert all(column.version <= features.version for column in features.columns)
    assert len(LABELS) == 2


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a mapping"),
        ({"name": "x", "version": 1, "owner": "me"}, "has no 'columns'"),
        (_document(version=0), "positive integer"),
        (_document(version=True), "positive integer"),
        (_document(columns=[]), "non-empty list"),
        (
            _document(
                columns=[{"name": "a", "source": "pixels", "type": "float", "version": 1, "definition": "d"}]
            ),
            "source 'pixels'",
        ),
        (
            _document(
                columns=[{"name": "a", "source": "image", "type": "text", "version": 1, "definition": "d"}]
            ),
            "type 'text'",
        ),
        (
            _document(
                columns=[{"name": "a", "source": "image", "type": "float", "version": 2, "definition": "d"}]
            ),
            "from 1 to the set's 1",
        ),
        (
            _document(columns=[{"name": "a", "source": "image", "type": "float", "version": 1}]),
            "has no 'definition'",
        ),
        (_document(columns=[_document()["columns"][0]] * 2), "repeat"),
    ],
)
def test_malformed_feature_sets_are_refused(document: object, message: str) -> None:
    with pytest.raises(FeatureSetError, match=message):
        parse_feature_set(document)


def test_a_reference_is_compared_only_with_the_same_feature_set_version() -> None:
    features = feature_set()
    reference = FeatureReference(
        feature_set_name=features.name,
        feature_set_version=features.version,
        column_versions=features.column_versions(),
        rows=[
            ReferenceRow(split="train", label="grass", features={"brightness": 0.4, "p_dandelion": None}),
            ReferenceRow(split="validation", label="grass", features={"brightness": 0.5, "p_dandelion": 0.1}),
        ],
    )
    assert reference.compatible_with(features)
    assert reference.values("brightness") == [0.4, 0.5]
    assert reference.values("p_dandelion") == [0.1]  # missing values are left out
    assert reference.values("brightness", split="validation") == [0.5]
    newer = parse_feature_set(_document(version=features.version + 1, name=features.name))
    assert not reference.compatible_with(newer)
    assert FeatureReference.model_validate_json(reference.model_dump_json()) == reference
