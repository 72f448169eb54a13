"""The model server's settings (serving/config.py), and the onnxruntime session built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import pytest
from onnx import TensorProto, helper

from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from greenr.features.definitions import feature_set
from greenr.images.memory import LARGE_IMAGE_PIXELS
from greenr.images.preprocess import DRAFT_MARGIN
from serving.config import ConfigError, load_config
from serving.deadline import Deadline
from serving.inference import NO_DEADLINE, ModelOutputs, OnnxClassifier, warm_up
from serving.model_store import ArtifactMetadata

BASE = {"MODEL_URI": "/models/v1"}


def test_defaults_work_on_one_machine() -> None:
    config = load_config(BASE)
    assert config.intra_op_threads == 2
    assert config.intra_op_spinning is True  # onnxruntime's own default
    assert config.max_batch_size == 64


def test_decoding_limits_default_to_the_libraries_and_read_the_environment() -> None:
    config = load_config(BASE)
    assert (config.jpeg_draft_margin, config.large_image_pixels) == (DRAFT_MARGIN, LARGE_IMAGE_PIXELS)
    config = load_config({**BASE, "GREENR_JPEG_DRAFT_MARGIN": "8", "GREENR_LARGE_IMAGE_PIXELS": "1000000"})
    assert (config.jpeg_draft_margin, config.large_image_pixels) == (8, 1_000_000)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GREENR_JPEG_DRAFT_MARGIN", "0"),
        ("GREENR_JPEG_DRAFT_MARGIN", "65"),
        ("GREENR_LARGE_IMAGE_PIXELS", "0"),
        ("GREENR_LARGE_IMAGE_PIXELS", "8M"),
    ],
)
def test_a_bad_decoding_limit_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load_config({**BASE, variable: value})


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("no", False)])
def test_spinning_switch_reads_the_environment(raw: str, expected: bool) -> None:
    config = load_config({**BASE, "GREENR_INTRA_OP_SPINNING": raw})
    assert config.intra_op_spinning is expected


def test_seldon_parameter_wins_over_the_environment() -> None:
    environ = {**BASE, "GREENR_INTRA_OP_SPINNING": "on"}
    assert load_config(environ, intra_op_spinning="false").intra_op_spinning is False
    assert load_config(environ, intra_op_spinning=False).intra_op_spinning is False


def test_a_bad_switch_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"GREENR_INTRA_OP_SPINNING: must be 1/0.*'maybe'"):
        load_config({**BASE, "GREENR_INTRA_OP_SPINNING": "maybe"})


def test_missing_model_uri_is_refused() -> None:
    with pytest.raises(ConfigError, match="MODEL_URI is not set"):
        load_config({})


def _mean_colour_classifier(path: Path) -> Path:
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


@pytest.mark.parametrize("spinning", [False, True])
def test_session_uses_the_spinning_setting(tmp_path: Path, spinning: bool) -> None:
    model = _mean_colour_classifier(tmp_path / "model.onnx")
    classifier = OnnxClassifier(model, METADATA, intra_op_threads=2, intra_op_spinning=spinning)
    options = classifier._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == ("1" if spinning else "0")
    # Never spin between runs: the request thread needs the core then.
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    # Green images lean to grass, yellow-red ones to dandelion.
    green = np.zeros((1, 224, 224, 3), dtype=np.float32)
    green[..., 1] = 255
    red = np.zeros((1, 224, 224, 3), dtype=np.float32)
    red[..., 0] = 255
    probabilities = classifier.probabilities(np.concatenate([green, red]))
    assert probabilities.argmax(axis=1).tolist() == [1, 0]


def test_warm_up_runs_one_picture_of_each_accepted_format(tmp_path: Path) -> None:
    batches: list[int] = []

    class Recording(OnnxClassifier):
        def run(self, batch: npt.NDArray[np.float32], deadline: Deadline = NO_DEADLINE) -> ModelOutputs:
            batches.append(len(batch))
            return super().run(batch, deadline)

    model = _mean_colour_classifier(tmp_path / "model.onnx")
    classifier = Recording(model, METADATA, intra_op_threads=1)
    assert batches == [1]  # the constructor's own check: one blank image
    warm_up(classifier, max_pixels=10_000, features=feature_set())
    assert batches == [1, 3]  # JPEG, PNG and WebP
