"""A tiny ONNX model that honours the served contract, and its artifact metadata."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from serving.model_store import ArtifactMetadata


def mean_colour_classifier(path: Path) -> Path:
    """N x 224 x 224 x 3 -> N x 2 softmax over two weighted channel means: the served contract."""
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [0.01, -0.01, -0.01, 0.01, 0.0, 0.0])
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2], keepdims=0),
            helper.make_node("MatMul", ["mean", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "mean_colour",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 224, 224, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


METADATA = ArtifactMetadata(
    model_name="greenr-classifier",
    version="1",
    alias="champion",
    labels=LABELS,
    input_size=MODEL_INPUT_SIZE,
    metrics={},
    dataset_version="ds-test",
    exported_at="2026-11-27T00:00:00Z",
    sha256="0" * 64,
)
