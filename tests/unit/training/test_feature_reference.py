"""The training reference: the exported model run on the train and validation photos, the reduction
fitted on train, output columns on validation rows only, the files published with the version."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from photo_factory import jpeg_bytes
from PIL import Image
from trained_model_kit import tiny_onnx_model

from greenr.contracts import LABELS
from greenr.export.onnx_runtime import OnnxClassifier
from greenr.features.definitions import feature_set
from greenr.features.embedding_reduction import EmbeddingReduction, reduction_from_json
from greenr.features.reference import FeatureReference
from greenr.storage.object_store import ObjectStore, S3Options, open_object_store
from greenr.training.data import Manifest, ManifestMember
from greenr.training.feature_reference import (
    ModelIdentity,
    ModelRun,
    ReferencePhoto,
    build_reference,
    load_reference_photos,
    reference_files,
    run_exported_model,
)

SIZE = 8
IDENTITY = ModelIdentity(name="greenr-classifier", version="7", training_run_id="run-1")


def _dataset(tmp_path: Path) -> tuple[ObjectStore, Manifest]:
    """Reddish dandelions and greenish grass in every split; one grass photo is 100 x 300."""
    store = open_object_store(str(tmp_path / "lake"), S3Options(None, None, None, "us-east-1", 1.0))
    members = []
    for index, (split, label) in enumerate(
        [(s, label) for s in ("train", "validation", "test") for label in LABELS for _ in range(3)]
    ):
        colour = (200, 60 + index, 30) if label == "dandelion" else (40, 170 + index, 50)
        size = (100, 300) if (split, label, index % 3) == ("validation", "grass", 0) else (120, 90)
        key = f"processed/images/{label}/{index:064d}.jpg"
        store.put(key, jpeg_bytes(Image.new("RGB", size, colour)))
        members.append(ManifestMember(sha256=f"{index:064d}", label=label, split=split, key=key, raw_key=key))
    return store, Manifest(id="ds-test", created_at="2026-11-29T00:00:00Z", members=members)


def _reference(tmp_path: Path, embedding: bool = True) -> tuple[FeatureReference, EmbeddingReduction | None]:
    store, manifest = _dataset(tmp_path)
    photos = load_reference_photos(store, manifest, SIZE, 10_000_000)
    (tmp_path / "model.onnx").write_bytes(tiny_onnx_model(SIZE, embedding=embedding))
    outputs = run_exported_model(OnnxClassifier(tmp_path / "model.onnx"), photos, batch_size=4)
    return build_reference(feature_set(), photos, outputs, LABELS, IDENTITY)


def test_the_reference_covers_train_and_validation_only(tmp_path: Path) -> None:
    reference, reduction = _reference(tmp_path)
    assert [row.split for row in reference.rows] == ["train"] * 6 + ["validation"] * 6
    assert reference.compatible_with(feature_set())
    assert (reference.model_name, reference.model_version, reference.training_run_id) == (
        "greenr-classifier",
        "7",
        "run-1",
    )
    assert all(tuple(row.features) == feature_set().names() for row in reference.rows)
    assert reduction is not None


def test_output_columns_are_filled_on_validation_rows_only(tmp_path: Path) -> None:
    reference, _ = _reference(tmp_path)
    outputs = set(feature_set().names("output"))
    for row in reference.rows:
        empty = {name for name, value in row.features.items() if value is None}
        assert empty == (outputs if row.split == "train" else set())
    assert len(reference.values("p_dandelion")) == 6
    assert len(reference.values("brightness")) == 12
    # The tiny model leans to dandelion on reddish photos: the outputs are the model's own.
    labels = {row.label: row.features["label"] for row in reference.rows if row.split == "validation"}
    assert labels == {"dandelion": "dandelion", "grass": "grass"}


def test_the_upload_size_is_each_photos(tmp_path: Path) -> None:
    reference, _ = _reference(tmp_path)
    sizes = {(row.features["width"], row.features["height"]) for row in reference.rows}
    assert sizes == {(120, 90), (100, 300)}


def test_the_reduction_is_fitted_on_train_embeddings_only(tmp_path: Path) -> None:
    store, manifest = _dataset(tmp_path)
    photos = load_reference_photos(store, manifest, SIZE, 10_000_000)
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(len(photos), 5)).astype(np.float32)
    probabilities = np.tile(np.array([[0.3, 0.7]], dtype=np.float32), (len(photos), 1))
    _, first = build_reference(feature_set(), photos, ModelRun(probabilities, embeddings), LABELS, IDENTITY)
    moved = embeddings.copy()
    moved[[i for i, p in enumerate(photos) if p.split == "validation"]] += 100.0
    moved_reference, second = build_reference(
        feature_set(), photos, ModelRun(probabilities, moved), LABELS, IDENTITY
    )
    assert first is not None
    assert second is not None
    np.testing.assert_array_equal(first.components, second.components)
    # Validation photos far from the train split's centroids are far in the reference too.
    distances = moved_reference.values("embedding_distance", split="validation")
    assert min(float(d) for d in distances if d is not None) > 10.0


def test_a_model_without_embedding_output_gives_empty_embedding_columns(tmp_path: Path) -> None:
    reference, reduction = _reference(tmp_path, embedding=False)
    assert reduction is None
    assert all(reference.values(name) == [] for name in feature_set().names("embedding"))
    assert reference_files(reference, None).reduction is None


def test_the_files_read_back(tmp_path: Path) -> None:
    reference, reduction = _reference(tmp_path)
    assert reduction is not None
    files = reference_files(reference, reduction)
    assert FeatureReference.model_validate_json(files.reference) == reference
    assert files.reduction is not None
    assert reduction_from_json(files.reduction).dimensions == 3


def test_no_photo_is_a_clear_error() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "model.onnx").write_bytes(tiny_onnx_model(SIZE))
        runner = OnnxClassifier(Path(tmp) / "model.onnx")
        with pytest.raises(ValueError, match="no train or validation photo"):
            run_exported_model(runner, [])


def test_reference_photos_are_the_model_input(tmp_path: Path) -> None:
    store, manifest = _dataset(tmp_path)
    photos = load_reference_photos(store, manifest, SIZE, 10_000_000)
    assert all(isinstance(p, ReferencePhoto) and p.image.pixels.shape == (SIZE, SIZE, 3) for p in photos)
    assert {p.split for p in photos} == {"train", "validation"}
