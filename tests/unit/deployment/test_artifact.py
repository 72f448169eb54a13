"""metadata.json of a serving artifact: the contract's model, with the input size of the graph."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from greenr.contracts import LABELS, ServingMetadata
from greenr.deployment.artifact import ModelSignatureError, metadata_document, onnx_input_size
from greenr.registry.model_registry import VersionInfo


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
