"""metadata.json of a serving artifact: the contract's model, with the input size of the graph; the
feature reference files published next to it."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from trained_model_kit import tiny_onnx_model

from greenr.contracts import LABELS, MODEL_CARD_FILE, ServingMetadata, artifact_prefix
from greenr.deployment.artifact import (
    ModelSignatureError,
    metadata_document,
    onnx_input_size,
    publish_version,
    reference_files_of,
)
from greenr.features.embedding_reduction import REDUCTION_FILE
from greenr.features.reference import REFERENCE_FILE
from greenr.open_set.scorer import OPEN_SET_FILE
from greenr.registry.model_registry import VersionInfo
from greenr.storage.object_store import ObjectStore, S3Options, open_object_store


def graph(*shapes: list[int | str | None]) -> onnx.ModelProto:
    """A one-node ONNX model with the given input shapes (its output is the first input)."""
    inputs = [
        helper.make_tensor_value_info(f"in{i}", TensorProto.FLOAT, shape) for i, shape in enumerate(shapes)
    ]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    node = helper.make_node("Identity", ["in0"], ["out"])
    return helper.make_model(helper.make_graph([node], "g", inputs, [output]))


@pytest.mark.parametrize("size", [192, 224, 260])
def test_the_input_size_is_the_graphs(size: int) -> None:
    assert onnx_input_size(graph([None, size, size, 3])) == size
    assert onnx_input_size(graph(["batch", size, size, 3])) == size


@pytest.mark.parametrize(
    "shapes",
    [
        [[None, 224, 192, 3]],  # not square
        [[None, 224, 224, 1]],  # not RGB
        [[None, "h", "w", 3]],  # not fixed
        [[None, 224, 224]],  # not a batch of images
        [[None, 224, 224, 3], [None, 2]],  # two inputs
    ],
)
def test_a_graph_the_server_cannot_feed_is_refused(shapes: list[list[int | str | None]]) -> None:
    with pytest.raises(ModelSignatureError, match="input"):
        onnx_input_size(graph(*shapes))


def test_the_document_is_the_contracts_model() -> None:
    info = VersionInfo(
        name="greenr-classifier",
        version="4",
        aliases=(),
        tags={
            "dataset_version": "ds-1",
            "test_f1": "0.9612",
            "test_note": "n/a",
            "test_roc_auc": "nan",
            "git_commit": "abc",
        },
        run_id="r",
        source="s",
    )
    document = metadata_document(info, "champion", LABELS, "ab" * 32, input_size=192)
    assert isinstance(document, ServingMetadata)
    assert (document.version, document.input_size, document.labels) == ("4", 192, LABELS)
    assert document.metrics == {"test_f1": 0.9612}
    assert ServingMetadata.model_validate_json(document.model_dump_json()) == document


def _store(tmp_path: Path) -> ObjectStore:
    return open_object_store(str(tmp_path / "lake"), S3Options(None, None, None, "us-east-1", 1.0))


def _info(run_id: str | None = None) -> VersionInfo:
    return VersionInfo(name="greenr-classifier", version="5", aliases=(), tags={}, run_id=run_id, source="s")


def test_the_reference_files_the_card_and_the_open_set_are_published_next_to_the_model(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    files = {
        REFERENCE_FILE: b'{"rows": []}',
        REDUCTION_FILE: b'{"mean": []}',
        MODEL_CARD_FILE: b"# card",
        OPEN_SET_FILE: b'{"format": "greenr-open-set"}',
    }
    published = publish_version(
        "unused", store, _info(), "champion", LABELS, onnx_file=tiny_onnx_model(8), reference_files=files
    )
    assert published.created
    prefix = artifact_prefix("greenr-classifier", "5")
    assert store.existing_keys(prefix) == {
        f"{prefix}/{name}"
        for name in (
            "model.onnx",
            "metadata.json",
            REFERENCE_FILE,
            REDUCTION_FILE,
            MODEL_CARD_FILE,
            OPEN_SET_FILE,
        )
    }
    assert store.get(f"{prefix}/{REFERENCE_FILE}") == files[REFERENCE_FILE]
    assert store.get(f"{prefix}/{OPEN_SET_FILE}") == files[OPEN_SET_FILE]
    assert store.get(f"{prefix}/{MODEL_CARD_FILE}") == b"# card"


def test_an_artifact_published_before_its_reference_gains_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    publish_version(
        "unused", store, _info(), "champion", LABELS, onnx_file=tiny_onnx_model(8), reference_files={}
    )
    prefix = artifact_prefix("greenr-classifier", "5")
    assert f"{prefix}/{REFERENCE_FILE}" not in store.existing_keys(prefix)
    again = publish_version(
        "unused", store, _info(), "champion", LABELS, reference_files={REFERENCE_FILE: b"{}"}
    )
    assert not again.created  # the model itself is never rewritten
    assert store.get(f"{prefix}/{REFERENCE_FILE}") == b"{}"


def test_a_version_without_a_run_has_no_reference_files() -> None:
    assert reference_files_of("unused", _info(run_id=None)) == {}
