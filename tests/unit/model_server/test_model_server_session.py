"""The model server's settings (serving/config.py), and the onnxruntime session built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from tiny_server_kit import mean_colour_model, tiny_metadata

from greenr.contracts import MODEL_INPUT_SIZE
from greenr.features.definitions import feature_set
from greenr.images.memory import LARGE_IMAGE_PIXELS
from greenr.images.preprocess import DRAFT_MARGIN
from serving.config import ConfigError, load_config
from serving.deadline import Deadline
from serving.inference import NO_DEADLINE, ModelOutputs, OnnxClassifier, warm_up

BASE = {"MODEL_URI": "/models/v1"}


METADATA = tiny_metadata(MODEL_INPUT_SIZE)


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


@pytest.mark.parametrize("spinning", [False, True])
def test_session_uses_the_spinning_setting(tmp_path: Path, spinning: bool) -> None:
    model = mean_colour_model(tmp_path / "model.onnx")
    classifier = OnnxClassifier(model, METADATA, intra_op_threads=2, intra_op_spinning=spinning)
    options = classifier._sessions.parallel.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == ("1" if spinning else "0")
    # Never spin between runs: the request thread needs the core then.
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    # Concurrent runs get one thread each, which has nothing to spin for.
    serial = classifier._sessions.serial.get_session_options()
    assert serial.intra_op_num_threads == 1
    assert serial.get_session_config_entry("session.intra_op.allow_spinning") == "0"
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

    model = mean_colour_model(tmp_path / "model.onnx")
    classifier = Recording(model, METADATA, intra_op_threads=1)
    assert batches == []  # the constructor checks each session directly, not through `run`
    warm_up(classifier, max_pixels=10_000, features=feature_set())
    assert batches == [3]  # JPEG, PNG and WebP
