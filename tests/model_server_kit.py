"""A real Seldon model server for tests: the process, its artifact, and the model run in-process.

Shared by the model server's and the prediction API's tests; the fixtures that build these are in
model_server_fixtures.py. The model is a tiny Keras network with the served signature (float32
N x S x S x 3 in 0..255, N x 2 probabilities, and with `embedding` a second output: its N x 8
pooled features; S = MODEL_INPUT_SIZE unless asked otherwise), exported to ONNX in a
main-environment subprocess (`BUILD_MODEL`): the tests check the serving machinery, not the
trained classifier.
`Reference` runs it in the test process with the main environment's onnxruntime and the same
`greenr.images` decoding and `greenr.features` columns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest
from cli_runner import isolated_env
from http_kit import free_port

from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from greenr.deployment.model_server_service import ModelServerConfig, ModelServerError, ModelServerService
from greenr.features.definitions import feature_set
from greenr.features.embedding_reduction import REDUCTION_FILE, EmbeddingReduction, fit_reduction
from greenr.features.prediction_features import prediction_features
from greenr.images.preprocess import decode_model_input, decode_sized_model_input
from greenr.settings import DEFAULT_SOURCE, REPO_ROOT

SERVING_PYTHON = REPO_ROOT / ".venv-serving" / "bin" / "python"
SETUP_SCRIPT = REPO_ROOT / "scripts" / "serving_setup.sh"
MAX_PIXELS = 40_000_000  # the server's default GREENR_MAX_IMAGE_PIXELS
TOLERANCE = 1e-5

# Run by the main environment's Python (argv: output path, input size, "embedding" for the second
# output): TensorFlow stays out of the pytest process.
BUILD_MODEL = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

size = int(sys.argv[2])
inputs = keras.Input(shape=(size, size, 3), name="image")
x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
x = keras.layers.Conv2D(
    8, 8, strides=8, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=1)
)(x)
pooled = keras.layers.GlobalAveragePooling2D()(x)
# A wide initial spread, so that real photos get clearly different probabilities.
outputs = keras.layers.Dense(
    2, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=3.0, seed=2)
)(pooled)
model = keras.Model(inputs, [outputs, pooled] if sys.argv[3:] == ["embedding"] else outputs)
model(np.zeros((1, size, size, 3), dtype="float32"))  # Keras' ONNX export needs a called model
model.export(sys.argv[1], format="onnx")
"""


# ---------------------------------------------------------------- helpers


def build_onnx_model(path: Path, size: int = MODEL_INPUT_SIZE, embedding: bool = False) -> Path:
    """The tiny test network taking size x size photos, exported to ONNX at `path`; with
    `embedding`, its pooled features are a second output (what training exports now)."""
    result = subprocess.run(
        [sys.executable, "-c", BUILD_MODEL, str(path), str(size), *(["embedding"] if embedding else [])],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert path.is_file()
    return path


def write_artifact(folder: Path, model: bytes, reduction: str | None = None, **overrides: Any) -> Path:
    """An artifact folder as serving/README.md defines it (with `reduction`, its
    embedding_reduction.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(model)
    if reduction is not None:
        (folder / REDUCTION_FILE).write_text(reduction)
    metadata = {
        "model_name": "greenr-classifier",
        "version": "3",
        "alias": "champion",
        "labels": list(LABELS),
        "input_size": MODEL_INPUT_SIZE,
        "metrics": {"test_accuracy": 0.95, "test_f1": 0.94},
        "dataset_version": "dataset-test-0001",
        "exported_at": "2025-11-27T12:00:00Z",
        "sha256": hashlib.sha256(model).hexdigest(),
        **overrides,
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2))
    return folder


def real_photos(count_per_class: int) -> list[Path]:
    source = Path(os.environ.get("GREENR_SOURCE_DIR") or DEFAULT_SOURCE)
    photos = []
    for label in LABELS:
        found = sorted((source / label).glob("*.jpg"))[:count_per_class]
        assert len(found) == count_per_class, f"expected the real photos under {source / label}"
        photos += found
    return photos


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def process_group(pgid: int) -> list[int]:
    """Pids of the live processes in a process group (field 5 of /proc/PID/stat). Zombies are
    left out: they hold nothing but their pid until init reaps them (the server runs detached)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def metric_values(metrics_text: str, name: str, **labels: str) -> list[float]:
    """Samples of `name` whose labels include `labels` (Prometheus text format)."""
    return [
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items())
    ]


def metric_total(metrics_text: str, name: str, **labels: str) -> float:
    """Sum over the series of a counter (Seldon keeps one per method tag and worker)."""
    return sum(metric_values(metrics_text, name, **labels))


class Reference:
    """The exported model run in this process: what the server must answer."""

    def __init__(self, model_path: Path, reduction: EmbeddingReduction | None = None) -> None:
        self._session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.size: int = self._session.get_inputs()[0].shape[1]
        self.reduction = reduction

    def outputs(self, images: list[bytes]) -> list[npt.NDArray[np.float32]]:
        # What training feeds the model (`decode_model_input`), computed here, not by the server.
        batch = np.stack([decode_model_input(data, MAX_PIXELS, self.size) for data in images])
        return [
            np.asarray(output, dtype=np.float32)
            for output in self._session.run(None, {self._input: batch.astype(np.float32)})
        ]

    def probabilities(self, images: list[bytes]) -> npt.NDArray[np.float32]:
        return self.outputs(images)[0]

    def features(self, images: list[bytes]) -> list[dict[str, Any]]:
        """The feature columns the server must return for each image."""
        outputs = self.outputs(images)
        rows = []
        for index, data in enumerate(images):
            sized = decode_sized_model_input(data, MAX_PIXELS, self.size)
            rows.append(
                prediction_features(
                    feature_set(),
                    model_input=sized.pixels,
                    width=sized.width,
                    height=sized.height,
                    probabilities=outputs[0][index].tolist(),
                    labels=LABELS,
                    embedding=outputs[1][index] if len(outputs) > 1 else None,
                    reduction=self.reduction,
                    jpeg_quality=sized.jpeg_quality,
                )
            )
        return rows

    def fitted_reduction(self, images: list[bytes], labels: list[str]) -> EmbeddingReduction:
        """A reduction fitted on these photos' embeddings, as training fits it on the train split."""
        return fit_reduction(self.outputs(images)[1], labels)


@dataclass
class ModelServer:
    """The local deployer's model server service (a real gunicorn process from .venv-serving) with
    its own home, port and cache, run without a ZenML store, plus a small HTTP client."""

    home: Path
    port: int
    cache: Path
    service: ModelServerService | None = None

    @property
    def runtime(self) -> Path:
        return self.home / "model-server"

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        return isolated_env(self.home, {"ZENML_CONFIG_PATH": str(self.home / "zenml"), **extra})

    def start_error(self, model_uri: str, **extra: str) -> str | None:
        """Start the server on `model_uri` and wait until it answers; the reason it gave up, if it did."""
        service = ModelServerService(
            uuid=uuid.uuid4(),
            config=ModelServerConfig(
                model_name="greenr-classifier",
                model_version="test",
                model_uri=model_uri,
                port=self.port,
                root_runtime_path=str(self.runtime),
                singleton=True,
                cache_dir=str(self.cache),
            ),
        )
        service.use_environment(self.env(extra))
        self.service = service
        try:
            service.start(timeout=120)
        except ModelServerError as error:
            return str(error)
        return None

    def start(self, model_uri: str, **extra: str) -> None:
        error = self.start_error(model_uri, **extra)
        assert error is None, f"{error}\n{self.log()}"

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop(timeout=60)
            assert not self.service.is_running
            assert self.service.status.pid is None

    def running(self) -> bool:
        return self.service is not None and self.service.is_running

    def pid(self) -> int:
        return int((self.runtime / "service.pid").read_text())

    def log(self) -> str:
        path = self.runtime / "service.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        text = body.decode()
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text

    def predict(self, payload: Mapping[str, Any]) -> tuple[int, Any]:
        return self.request("POST", "/api/v1.0/predictions", payload)

    def metrics(self) -> str:
        status, text = self.request("GET", "/metrics")
        assert status == 200
        return str(text)


def new_server(root: Path) -> ModelServer:
    return ModelServer(home=root / "home", port=free_port(), cache=root / "cache")


def assert_matches(
    predictions: list[dict[str, Any]], expected: npt.NDArray[np.float32], tolerance: float = TOLERANCE
) -> None:
    assert len(predictions) == len(expected)
    for prediction, row in zip(predictions, expected, strict=True):
        probabilities = prediction["probabilities"]
        assert list(probabilities) == list(LABELS)
        got = np.array([probabilities[label] for label in LABELS])
        assert abs(got.sum() - 1.0) < tolerance
        np.testing.assert_allclose(got, row, atol=tolerance, rtol=0)
        assert prediction["label"] == LABELS[int(np.argmax(row))]


def assert_features_match(
    predictions: list[dict[str, Any]], expected: list[dict[str, Any]], tolerance: float = 1e-4
) -> None:
    """Each prediction carries the feature set's columns, equal to `expected` (floats within
    `tolerance`: the server's onnxruntime may differ from this process's in the last bits)."""
    assert len(predictions) == len(expected)
    for prediction, row in zip(predictions, expected, strict=True):
        assert prediction["feature_set_version"] == feature_set().version
        features = prediction["features"]
        assert sorted(features) == sorted(feature_set().names())  # Seldon's Flask sorts JSON keys
        for name, value in row.items():
            if isinstance(value, float):
                assert features[name] == pytest.approx(value, abs=tolerance, rel=tolerance), name
            else:
                assert features[name] == value, name
