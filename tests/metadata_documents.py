"""metadata.json documents that probe each rule of the serving contract, and both ways to read them.

Shared by tests/unit/test_contracts.py (the server's reading in the main environment) and
tests/integration/test_serving_contract.py (in the model server's own environment).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError

from greenr.contracts import LABELS, ServingMetadata
from serving.model_store import ArtifactError, parse_metadata

VALID: dict[str, Any] = {
    "model_name": "greenr-classifier",
    "version": "3",
    "alias": "champion",
    "labels": list(LABELS),
    "input_size": 192,
    "metrics": {"test_accuracy": 0.95, "test_f1": 1},
    "dataset_version": "ds-0123456789abcdef",
    "exported_at": "2026-11-29T12:00:00+00:00",
    "sha256": "ab" * 32,
}
_DROP = object()


def variant(**changes: object) -> dict[str, Any]:
    document = {**VALID, **changes}
    return {key: value for key, value in document.items() if value is not _DROP}


# (id, document): accepted and refused ones, each probing one rule of the schema.
DOCUMENTS: list[tuple[str, Any]] = [
    ("valid", VALID),
    ("version-as-number", variant(version=3)),
    ("upper-case-sha256", variant(sha256="AB" * 32)),
    ("no-metrics", variant(metrics=_DROP)),
    ("unknown-field-ignored", variant(trained_by="someone")),
    ("three-labels", variant(labels=["a", "b", "c"])),
    ("not-an-object", ["model_name"]),
    ("missing-model-name", variant(model_name=_DROP)),
    ("empty-alias", variant(alias="")),
    ("version-bool", variant(version=True)),
    ("version-float", variant(version=3.0)),
    ("version-empty", variant(version="")),
    ("one-label", variant(labels=["dandelion"])),
    ("duplicate-labels", variant(labels=["grass", "grass"])),
    ("empty-label", variant(labels=["dandelion", ""])),
    ("labels-not-a-list", variant(labels="dandelion,grass")),
    ("input-size-zero", variant(input_size=0)),
    ("input-size-float", variant(input_size=224.0)),
    ("input-size-text", variant(input_size="224")),
    ("input-size-bool", variant(input_size=True)),
    ("metric-text", variant(metrics={"test_f1": "0.9"})),
    ("metric-bool", variant(metrics={"test_f1": True})),
    ("sha256-short", variant(sha256="ab" * 31)),
    ("sha256-not-hex", variant(sha256="zz" * 32)),
    ("sha256-trailing-newline", variant(sha256="ab" * 32 + "\n")),
    ("missing-sha256", variant(sha256=_DROP)),
    ("missing-dataset-version", variant(dataset_version=_DROP)),
]


def contract_reading(data: bytes) -> dict[str, Any] | None:
    """What ServingMetadata makes of the bytes, None when it refuses them."""
    try:
        return ServingMetadata.model_validate_json(data).model_dump(mode="json")
    except ValidationError:
        return None


def server_reading(data: bytes) -> dict[str, Any] | None:
    """What the model server makes of the bytes, None when it refuses them."""
    try:
        metadata = parse_metadata(data)
    except ArtifactError:
        return None
    document = dataclasses.asdict(metadata)
    document["labels"] = list(document["labels"])
    return document


ACCEPTED = frozenset(
    {"valid", "version-as-number", "upper-case-sha256", "no-metrics", "unknown-field-ignored", "three-labels"}
)
