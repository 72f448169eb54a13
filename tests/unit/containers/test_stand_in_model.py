"""The stand-in model is an artifact the model server accepts, with the served signature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from greenr.containers.stand_in_model import write_artifact
from greenr.contracts import LABELS, MODEL_INPUT_SIZE, ServingMetadata
from greenr.deployment.artifact import onnx_input_size
from serving.inference import check_model
from serving.model_store import file_sha256, parse_metadata


def test_the_artifact_passes_the_model_servers_own_checks(tmp_path: Path) -> None:
    written = write_artifact(tmp_path)

    data = (tmp_path / "metadata.json").read_bytes()
    assert ServingMetadata.model_validate_json(data) == written
    metadata = parse_metadata(data)  # the server's JSON Schema check (serving/metadata.schema.json)
    assert metadata.sha256 == file_sha256(tmp_path / "model.onnx")
    check_model(tmp_path, metadata)  # what the server runs before it serves a model
    assert onnx_input_size(onnx.load(tmp_path / "model.onnx")) == MODEL_INPUT_SIZE == written.input_size
    assert written.labels == LABELS


def test_it_answers_probabilities_and_greener_photos_are_more_grass(tmp_path: Path) -> None:
    write_artifact(tmp_path, size=32)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    photos = np.zeros((2, 32, 32, 3), dtype=np.float32)
    photos[0, ..., 0] = 255  # red
    photos[1, ..., 1] = 255  # green
    (probabilities,) = session.run(None, {"image": photos})
    assert probabilities.shape == (2, len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    grass = LABELS.index("grass")
    assert probabilities[1, grass] > 0.9 > probabilities[0, grass]
