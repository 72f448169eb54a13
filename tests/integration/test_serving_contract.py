"""The serving contract across the two environments, and a model at a non-default input size.

- The model server, in its own environment (jsonschema 3.2, no pydantic), reads every probe
  document of tests/metadata_documents.py exactly as `greenr.contracts.ServingMetadata` does.
- A model trained at 192 px goes the deployment code's way (MLflow registry -> `publish_version`)
  and is announced, served and answered at 192 px: the server feeds it the photos as training
  did at that size (before, metadata.json always said 224 and the server refused the model).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mlflow
import pytest
from metadata_documents import DOCUMENTS, contract_reading
from model_server_kit import Reference, assert_matches, b64, build_onnx_model, new_server, real_photos

from greenr.contracts import LABELS, MODEL_INPUT_SIZE, artifact_prefix
from greenr.deployment.artifact import publish_version
from greenr.registry import model_registry, tracking
from greenr.settings import REPO_ROOT
from greenr.storage.object_store import S3Options, open_object_store

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = 192

# Run by the model server's Python from the repository root: reads JSON documents on stdin.
SERVER_READING = """
import dataclasses, json, sys
from serving.model_store import ArtifactError, parse_metadata

readings = []
for document in json.load(sys.stdin):
    try:
        reading = dataclasses.asdict(parse_metadata(document.encode()))
    except ArtifactError:
        reading = None
    else:
        reading["labels"] = list(reading["labels"])
    readings.append(reading)
print(json.dumps(readings))
"""


def test_the_servers_environment_reads_metadata_exactly_as_the_contract(serving_env: Path) -> None:
    documents = [json.dumps(document) for _, document in DOCUMENTS]
    result = subprocess.run(
        [str(serving_env), "-c", SERVER_READING],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    readings = json.loads(result.stdout)
    for (name, _), document, reading in zip(DOCUMENTS, documents, readings, strict=True):
        assert reading == contract_reading(document.encode()), name


def test_a_model_trained_at_192_px_is_published_served_and_answered_at_that_size(
    tmp_path: Path, serving_env: Path
) -> None:
    assert SIZE != MODEL_INPUT_SIZE
    model_path = build_onnx_model(tmp_path / "model.onnx", size=SIZE)
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = "greenr-contract-test"
    previous_uri = mlflow.get_tracking_uri()
    try:
        # Registered as the training pipeline's register step does.
        with tracking.mlflow_run(tracking_uri, "contract-test", (tmp_path / "mlartifacts").as_uri()):
            model_uri = tracking.log_onnx_model(model_path)
        version = model_registry.register_version(
            tracking_uri, name, model_uri, tags={"dataset_version": "ds-test", "test_f1": "0.9"}
        )
        store = open_object_store(str(tmp_path / "lake"), S3Options(None, None, None, "us-east-1", 5.0))
        published = publish_version(tracking_uri, store, version, "champion", LABELS)
    finally:
        mlflow.set_tracking_uri(previous_uri)

    metadata = json.loads(store.get(f"{artifact_prefix(name, version.version)}/metadata.json"))
    assert metadata["input_size"] == SIZE
    assert metadata["labels"] == list(LABELS)

    server = new_server(tmp_path / "server")
    server.start(published.uri)
    try:
        status, described = server.request("GET", "/api/v1.0/metadata")
        assert status == 200
        assert described["custom"]["input_size"] == str(SIZE)
        photos = [path.read_bytes() for path in real_photos(3)]
        status, body = server.predict({"jsonData": {"images": [b64(photo) for photo in photos]}})
        assert status == 200, body
        reference = Reference(model_path)
        assert reference.size == SIZE
        assert_matches(body["jsonData"]["predictions"], reference.probabilities(photos))
    finally:
        server.stop()
