"""The reference of a model version: its feature columns on its train and validation photos.

Computed by running the exported ONNX model (what the model server runs, so the reference is what
serving computes) on the photos decoded exactly as the server decodes uploads, with the same
`greenr.features` code the server calls per prediction. The embedding reduction is fitted here on
the train split's embeddings. Both files are logged to the training's MLflow run (under
`REFERENCE_ARTIFACT_PATH`), so they belong to the registered version, and published next to its
serving artifact (`greenr.deployment.artifact.publish_version`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from greenr.export.onnx_runtime import OnnxClassifier
from greenr.features.definitions import FeatureSet, feature_set
from greenr.features.embedding_reduction import (
    REDUCTION_FILE,
    EmbeddingReduction,
    fit_reduction,
    reduction_to_json,
)
from greenr.features.prediction_features import prediction_features
from greenr.features.reference import REFERENCE_FILE, FeatureReference, ReferenceRow
from greenr.images.preprocess import DRAFT_MARGIN, SizedModelInput, decode_sized_model_input
from greenr.resources import object_store
from greenr.settings import Settings
from greenr.storage.object_store import ObjectStore
from greenr.training.data import Manifest, read_manifest
from greenr.training.registration import RegisteredModel
from greenr.training.run_tracking import EXPERIMENT
from greenr.training.trained_model import TrainedModel

log = logging.getLogger(__name__)

REFERENCE_ARTIFACT_PATH: Final = "features"
"""Folder of the training run's MLflow artifacts holding REFERENCE_FILE and REDUCTION_FILE."""
ReferenceSplit = Literal["train", "validation"]
REFERENCE_SPLITS: Final[tuple[ReferenceSplit, ...]] = ("train", "validation")


@dataclass(frozen=True)
class ReferencePhoto:
    """One train or validation photo: its split, true label and model input with upload size."""

    split: ReferenceSplit
    label: str
    image: SizedModelInput


@dataclass(frozen=True)
class ModelRun:
    """The exported model's outputs on the reference photos, in their order."""

    probabilities: npt.NDArray[np.float32]
    embeddings: npt.NDArray[np.float32] | None
    """None for a model exported without the embedding output."""


@dataclass(frozen=True)
class ModelIdentity:
    """Which model version the reference belongs to."""

    name: str | None
    version: str | None
    training_run_id: str | None


def load_reference_photos(
    store: ObjectStore, manifest: Manifest, size: int, max_pixels: int, draft_margin: int = DRAFT_MARGIN
) -> list[ReferencePhoto]:
    """The dataset version's train and validation photos, decoded as the model server decodes uploads
    (sorted by split, then sha256: the order never depends on the manifest's)."""
    members = sorted(
        (m for m in manifest.members if m.split in REFERENCE_SPLITS), key=lambda m: (m.split, m.sha256)
    )
    photos = []
    for member in members:
        split: ReferenceSplit = "train" if member.split == "train" else "validation"
        image = decode_sized_model_input(store.get(member.key), max_pixels, size, draft_margin=draft_margin)
        photos.append(ReferencePhoto(split=split, label=member.label, image=image))
    log.info("reference: %d train and validation photos of %s", len(photos), manifest.id)
    return photos


def run_exported_model(
    runner: OnnxClassifier, photos: Sequence[ReferencePhoto], batch_size: int = 32
) -> ModelRun:
    """The ONNX model's probabilities (and embeddings) for the photos, `batch_size` at a time (the
    float copy of a whole split would take ~0.6 MB a photo)."""
    chunks = [
        runner.outputs(
            np.stack([p.image.pixels for p in photos[start : start + batch_size]]).astype(np.float32)
        )
        for start in range(0, len(photos), batch_size)
    ]
    if not chunks:
        raise ValueError("the dataset version has no train or validation photo to build a reference from")
    probabilities = np.concatenate([chunk[0] for chunk in chunks])
    embeddings = np.concatenate([chunk[1] for chunk in chunks]) if len(chunks[0]) > 1 else None
    return ModelRun(probabilities=probabilities, embeddings=embeddings)


def build_reference(
    features: FeatureSet,
    photos: Sequence[ReferencePhoto],
    outputs: ModelRun,
    labels: Sequence[str],
    identity: ModelIdentity,
) -> tuple[FeatureReference, EmbeddingReduction | None]:
    """The reference rows, and the embedding reduction fitted on the train photos' embeddings.

    Output columns are filled on validation rows only (FeatureReference's rule); embedding columns
    are None when the model has no embedding output.

    Raises:
        EmbeddingReductionError: the train split cannot be fitted (fewer than 2 photos...).
    """
    reduction = None
    if outputs.embeddings is not None:
        train = [i for i, photo in enumerate(photos) if photo.split == "train"]
        reduction = fit_reduction(outputs.embeddings[train], [photos[i].label for i in train])
    rows = []
    for index, photo in enumerate(photos):
        columns = prediction_features(
            features,
            model_input=photo.image.pixels,
            width=photo.image.width,
            height=photo.image.height,
            probabilities=outputs.probabilities[index].tolist() if photo.split == "validation" else None,
            labels=labels,
            embedding=None if outputs.embeddings is None else outputs.embeddings[index],
            reduction=reduction,
            jpeg_quality=photo.image.jpeg_quality,
        )
        rows.append(ReferenceRow(split=photo.split, label=photo.label, features=columns))
    reference = FeatureReference(
        feature_set_name=features.name,
        feature_set_version=features.version,
        column_versions=features.column_versions(),
        model_name=identity.name,
        model_version=identity.version,
        training_run_id=identity.training_run_id,
        rows=rows,
    )
    return reference, reduction


@dataclass(frozen=True)
class ReferenceFiles:
    """The two files published with a model version (bytes as written)."""

    reference: bytes
    reduction: bytes | None


def reference_files(reference: FeatureReference, reduction: EmbeddingReduction | None) -> ReferenceFiles:
    """`feature_reference.json` and `embedding_reduction.json` (None without an embedding output)."""
    return ReferenceFiles(
        reference=reference.model_dump_json().encode(),
        reduction=None if reduction is None else reduction_to_json(reduction).encode(),
    )


def log_reference_files(files: ReferenceFiles) -> None:
    """Attach the files to the active MLflow run, under REFERENCE_ARTIFACT_PATH."""
    from greenr.registry import tracking

    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / REFERENCE_FILE]
        paths[0].write_bytes(files.reference)
        if files.reduction is not None:
            paths.append(Path(tmp) / REDUCTION_FILE)
            paths[1].write_bytes(files.reduction)
        tracking.log_files(paths, REFERENCE_ARTIFACT_PATH)


def compute_reference(
    settings: Settings, trained: TrainedModel, registered: RegisteredModel, artifact_location: str | None
) -> FeatureReference:
    """The step's work: reference of the registered version, logged to its training's MLflow run."""
    from greenr.registry import tracking

    store = object_store(settings)
    manifest = read_manifest(store, trained.summary.dataset_version)
    photos = load_reference_photos(
        store, manifest, trained.summary.input_size, settings.max_image_pixels, settings.jpeg_draft_margin
    )
    with tempfile.TemporaryDirectory() as tmp:
        outputs = run_exported_model(trained.onnx_classifier(Path(tmp)), photos)
    identity = ModelIdentity(
        name=registered.name, version=registered.version, training_run_id=registered.mlflow_run_id
    )
    reference, reduction = build_reference(feature_set(), photos, outputs, trained.summary.labels, identity)
    with tracking.mlflow_run(
        settings.tracking_uri, EXPERIMENT, artifact_location, trained.summary.mlflow_run_id
    ):
        log_reference_files(reference_files(reference, reduction))
    log.info(
        "feature reference of %s version %s: %d rows%s",
        registered.name,
        registered.version,
        len(reference.rows),
        "" if reduction is not None else " (no embedding output: embedding columns empty)",
    )
    return reference
