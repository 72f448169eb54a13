"""What the object store holds for each published model version: its serving metadata, its reference.

The serving artifact of a version lives under `greenr.contracts.artifact_prefix` (the deployment
pipeline publishes it), with `metadata.json` (its test metrics) and `feature_reference.json` (the
features it was trained on).
"""

from __future__ import annotations

from pydantic import ValidationError

from greenr.contracts import ServingMetadata, artifact_prefix
from greenr.features.reference import REFERENCE_FILE, FeatureReference
from greenr.storage.object_store import ObjectStore

METADATA_FILE = "metadata.json"


def published_metadata(store: ObjectStore, name: str, version: str) -> ServingMetadata | None:
    """The serving metadata of a published version, None when the version was never published."""
    key = f"{artifact_prefix(name, version)}/{METADATA_FILE}"
    if key not in store.existing_keys(artifact_prefix(name, version)):
        return None
    return ServingMetadata.model_validate_json(store.get(key))


class ReferenceUnreadable(ValueError):
    """A reference file exists but is not a FeatureReference."""


def published_reference(store: ObjectStore, name: str, version: str) -> FeatureReference | None:
    """The training reference published with a version, None when it has none.

    Raises:
        ReferenceUnreadable: the file is there but malformed.
    """
    key = f"{artifact_prefix(name, version)}/{REFERENCE_FILE}"
    if key not in store.existing_keys(artifact_prefix(name, version)):
        return None
    try:
        return FeatureReference.model_validate_json(store.get(key))
    except ValidationError as error:
        raise ReferenceUnreadable(f"{store.uri(key)} is not a feature reference: {error}") from None


def version_test_f1(metadata: ServingMetadata | None) -> float | None:
    """The version's F1 on its test split, as the training pipeline tagged it (`test_f1`)."""
    return None if metadata is None else metadata.metrics.get("test_f1")
