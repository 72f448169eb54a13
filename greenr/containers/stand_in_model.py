"""A tiny model with the served signature, published as a serving artifact folder.

The containers' test checks the images, not the classifier: the graph (made with onnx's helper,
no TensorFlow, in well under a second) takes float32 N x S x S x 3 in 0..255 and answers N x 2
probabilities from each photo's mean colour (more green: more "grass"). metadata.json is
`greenr.contracts.ServingMetadata`, as the model server reads it (serving/README.md).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from greenr.contracts import LABELS, MODEL_INPUT_SIZE, ServingMetadata

MODEL_NAME = "greenr-container-test"
OPSET = 13  # ReduceMean still takes its axes as an attribute; every onnxruntime since 1.7 runs it
# Mean red, green, blue (in 0..255) to the two logits, in LABELS order (dandelion, grass).
WEIGHTS = np.array([[4.0, -4.0], [-4.0, 4.0], [2.0, -2.0]], dtype=np.float32) / 255


def mean_colour_onnx(
    size: int = MODEL_INPUT_SIZE,
    weights: NDArray[np.float32] = WEIGHTS,
    input_name: str = "image",
    embedding: bool = False,
) -> bytes:
    """The serialized graph: mean colour of the photo (N x 3), a 3 x 2 linear layer, softmax.

    With `embedding`, the mean colour is a second output, like the pooled features training
    exports after the probabilities. The tests' tiny models are this graph too
    (tests/trained_model_kit.py).
    """
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["colour"], axes=[1, 2], keepdims=0),
        helper.make_node("MatMul", ["colour", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(LABELS)])]
    if embedding:
        outputs.append(helper.make_tensor_value_info("colour", TensorProto.FLOAT, ["N", 3]))
    graph = helper.make_graph(
        nodes,
        "greenr_mean_colour",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", size, size, 3])],
        outputs,
        initializer=[numpy_helper.from_array(weights.astype(np.float32), "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime releases of the last years all read
    onnx.checker.check_model(model)
    serialized: bytes = model.SerializeToString()
    return serialized


def write_artifact(folder: Path, size: int = MODEL_INPUT_SIZE) -> ServingMetadata:
    """model.onnx + metadata.json in `folder` (made if needed); the metadata written."""
    model = mean_colour_onnx(size)
    metadata = ServingMetadata(
        model_name=MODEL_NAME,
        version="1",
        alias="champion",
        labels=LABELS,
        input_size=size,
        metrics={},
        dataset_version="container-test",
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sha256=hashlib.sha256(model).hexdigest(),
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(model)
    (folder / "metadata.json").write_text(metadata.model_dump_json(indent=2) + "\n")
    return metadata
