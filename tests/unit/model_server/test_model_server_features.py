"""The model server's feature columns: one- and two-output models, the embedding reduction, the body."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from photo_factory import jpeg_bytes
from PIL import Image
from tiny_server_kit import TINY_METADATA, TINY_SIZE, flat_png
from trained_model_kit import tiny_onnx_model

from greenr.contracts import LABELS
from greenr.features.definitions import feature_set
from greenr.features.embedding_reduction import REDUCTION_FILE, fit_reduction, reduction_to_json
from serving.inference import OnnxClassifier, check_model, decode_images, feature_rows, read_reduction
from serving.model_store import ArtifactError, LocalSource
from serving.payload import predictions_body

SIZE = TINY_SIZE
METADATA = TINY_METADATA
JPEG_COLUMNS = {"jpeg_quality", "jpeg_compression"}  # empty for the PNG uploads
# Fitted on mean colours (the tiny model's "embedding"): reddish and greenish photos.
REDUCTION = fit_reduction(
    np.array([[200, 40, 30], [180, 60, 20], [220, 30, 50], [40, 180, 30], [60, 200, 40], [30, 170, 60]]),
    ["dandelion"] * 3 + ["grass"] * 3,
)


def _folder(tmp_path: Path, embedding: bool, reduction: str | None = None) -> Path:
    folder = tmp_path / ("two" if embedding else "one")
    folder.mkdir()
    (folder / "model.onnx").write_bytes(tiny_onnx_model(SIZE, embedding=embedding))
    if reduction is not None:
        (folder / REDUCTION_FILE).write_text(reduction)
    return folder


def _classifier(folder: Path) -> OnnxClassifier:
    return OnnxClassifier(
        folder / "model.onnx", METADATA, intra_op_threads=1, reduction=read_reduction(folder)
    )


def test_a_two_output_model_with_its_reduction_fills_every_column(tmp_path: Path) -> None:
    classifier = _classifier(_folder(tmp_path, embedding=True, reduction=reduction_to_json(REDUCTION)))
    assert classifier.embedding_size == 3
    heavy_jpeg = jpeg_bytes(Image.new("RGB", (40, 20), (250, 200, 0)), quality=20)
    images = decode_images([heavy_jpeg, flat_png((0, 90, 0), (30, 60))], 10_000, SIZE)
    outputs = classifier.run(images.batch)
    assert outputs.embeddings is not None
    np.testing.assert_allclose(outputs.embeddings, images.batch.mean(axis=(1, 2)), atol=1e-4)
    rows = feature_rows(feature_set(), images, outputs, classifier)
    assert [tuple(row) for row in rows] == [feature_set().names()] * 2
    assert all(value is not None for value in rows[0].values())
    assert rows[0]["jpeg_quality"] == pytest.approx(20, abs=1.5)
    assert rows[0]["jpeg_compression"] == "heavy"
    # A PNG has no JPEG quality; every other column is filled.
    assert {name for name, value in rows[1].items() if value is None} == JPEG_COLUMNS
    assert (rows[1]["width"], rows[1]["height"]) == (30, 60)
    assert float(rows[0]["brightness"] or 0) > float(rows[1]["brightness"] or 0)
    assert rows[1]["label"] == "grass"
    assert rows[1]["p_dandelion"] == pytest.approx(float(outputs.probabilities[1][LABELS.index("dandelion")]))


@pytest.mark.parametrize(("embedding", "reduction"), [(False, False), (True, False)])
def test_without_embedding_or_reduction_the_embedding_columns_are_none(
    tmp_path: Path, embedding: bool, reduction: bool
) -> None:
    classifier = _classifier(
        _folder(tmp_path, embedding, reduction_to_json(REDUCTION) if reduction else None)
    )
    images = decode_images([flat_png((10, 200, 10))], 10_000, SIZE)
    outputs = classifier.run(images.batch)
    assert (outputs.embeddings is None) is not embedding
    (row,) = feature_rows(feature_set(), images, outputs, classifier)
    assert {name for name, value in row.items() if value is None} == set(
        feature_set().names("embedding")
    ) | JPEG_COLUMNS
    np.testing.assert_array_equal(classifier.probabilities(images.batch), outputs.probabilities)


def test_a_reduction_of_another_model_is_refused(tmp_path: Path) -> None:
    wide = fit_reduction(np.random.default_rng(0).normal(size=(6, 5)), ["dandelion", "grass"] * 3)
    folder = _folder(tmp_path, embedding=True, reduction=reduction_to_json(wide))
    with pytest.raises(ArtifactError, match=r"fitted on 5 features but model\.onnx's embedding has 3"):
        check_model(folder, METADATA)


def test_a_reduction_without_embedding_output_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, embedding=False, reduction=reduction_to_json(REDUCTION))
    with pytest.raises(
        ArtifactError, match=r"no embedding output but the artifact has embedding_reduction\.json"
    ):
        check_model(folder, METADATA)


def test_an_unreadable_reduction_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, embedding=True, reduction="{not json")
    with pytest.raises(ArtifactError, match="re-run training"):
        check_model(folder, METADATA)


def test_check_model_accepts_old_and_new_artifacts(tmp_path: Path) -> None:
    check_model(_folder(tmp_path, embedding=False), METADATA)
    check_model(_folder(tmp_path, embedding=True, reduction=reduction_to_json(REDUCTION)), METADATA)


def test_the_body_adds_features_and_keeps_the_old_keys() -> None:
    probabilities = np.array([[0.8, 0.2]], dtype=np.float32)
    model = {"name": "m", "version": "1", "alias": None, "fallback": False}
    old = predictions_body(probabilities, LABELS, model)
    assert set(old["predictions"][0]) == {"label", "probabilities"}
    new = predictions_body(probabilities, LABELS, model, [{"brightness": 0.5}], 1)
    (prediction,) = new["predictions"]
    assert {key: prediction[key] for key in old["predictions"][0]} == old["predictions"][0]
    assert prediction["features"] == {"brightness": 0.5}
    assert prediction["feature_set_version"] == 1
    assert new["model"] == old["model"]


def test_the_reduction_file_is_optional_in_a_source(tmp_path: Path) -> None:
    folder = _folder(tmp_path, embedding=True)
    source = LocalSource(str(folder), folder)
    assert source.download_optional(REDUCTION_FILE, tmp_path / "copy.json") is False
    (folder / REDUCTION_FILE).write_text(reduction_to_json(REDUCTION))
    assert source.download_optional(REDUCTION_FILE, tmp_path / "copy.json") is True
    assert read_reduction(tmp_path / "missing") is None
    copied = read_reduction(folder)
    assert copied is not None
    assert dataclasses.asdict(copied).keys() == dataclasses.asdict(REDUCTION).keys()


def test_the_store_caches_the_reduction_and_fetches_it_once_it_is_published(tmp_path: Path) -> None:
    from model_server_kit import write_artifact

    from serving.config import S3Config
    from serving.model_store import resolve_artifact

    s3 = S3Config(endpoint_url=None, region="us-east-1", timeout_seconds=1.0)
    published = write_artifact(tmp_path / "v1", tiny_onnx_model(SIZE, embedding=True), input_size=SIZE)
    first = resolve_artifact(str(published), tmp_path / "cache", check_model, s3)
    assert not first.reduction_path.exists()
    # The same model, its reduction published afterwards: the cached copy gains it.
    (published / REDUCTION_FILE).write_text(reduction_to_json(REDUCTION))
    second = resolve_artifact(str(published), tmp_path / "cache", check_model, s3)
    assert second.directory == first.directory
    assert second.reduction_path.read_text() == reduction_to_json(REDUCTION)
    # A copy downloaded afresh brings it along.
    fresh = resolve_artifact(str(published), tmp_path / "other-cache", check_model, s3)
    assert fresh.reduction_path.is_file()
