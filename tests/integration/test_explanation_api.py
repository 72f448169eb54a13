"""GET /predictions/{id}/explanation end to end: a real model server answers the prediction, the
API records it in PostgreSQL and keeps the photo in S3, and draws the explanation from the Keras
model that the MLflow server holds in the version's run (one small untrained classifier, served
as ONNX and logged as Keras, as training does)."""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from conftest import MlflowTarget, S3Service
from explanation_kit import register_run_version, tiny_model_files
from fastapi.testclient import TestClient
from model_server_kit import new_server, real_photos, write_artifact
from PIL import Image

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.settings import load_settings

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = 64


@pytest.fixture(scope="module")
def model_files() -> tuple[bytes, bytes]:
    keras, onnx = tiny_model_files(SIZE)
    assert onnx is not None
    return keras, onnx


def test_a_prediction_is_explained_end_to_end(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    serving_env: Path,
    model_files: tuple[bytes, bytes],
    mlflow_tracking: MlflowTarget,
    s3_service: S3Service,
    s3_prefix: str,
    postgres_url: str,
) -> None:
    keras, onnx = model_files
    name = mlflow_tracking.registered_model_name
    version = register_run_version(mlflow_tracking.uri, name, keras)
    old_version = register_run_version(mlflow_tracking.uri, name, None)
    artifact = write_artifact(tmp_path / "artifact", onnx, model_name=name, version=version, input_size=SIZE)
    server = new_server(tmp_path / "model-server")
    server.start(str(artifact))
    try:
        for variable, value in {
            "GREENR_MODEL_SERVER_URL": f"http://127.0.0.1:{server.port}",
            "GREENR_DATABASE_URL": postgres_url,
            "GREENR_LAKE_URI": s3_prefix,
            "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
            "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
            "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
            "MLFLOW_TRACKING_URI": mlflow_tracking.uri,
        }.items():
            monkeypatch.setenv(variable, value)
        for client in running_api():
            check_explanations(client, s3_service, s3_prefix, name, version, old_version)
    finally:
        server.stop()


def running_api() -> Iterator[TestClient]:
    settings = load_settings()
    key = make_key(settings.catalog_url, Role.PREDICT, "phone")
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL, headers=bearer(key)) as client:
        yield client


def check_explanations(
    client: TestClient,
    s3_service: S3Service,
    s3_prefix: str,
    name: str,
    version: str,
    old_version: str,
) -> None:
    photos = real_photos(1)
    predicted = client.post(
        "/predict", files=[("files", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
    )
    assert predicted.status_code == 200, predicted.text
    items = predicted.json()["predictions"]
    assert [item["model_version"] for item in items] == [version, version]

    overlays = []
    for item, photo in zip(items, photos, strict=True):
        response: httpx.Response = client.get(f"/predictions/{item['id']}/explanation")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(response.content)) as overlay, Image.open(photo) as original:
            assert overlay.format == "PNG"
            assert overlay.size == original.size
        overlays.append(response.content)
    assert overlays[0] != overlays[1]

    # Kept in S3 under the version, so the next request (on any replica) is not drawn again.
    bucket, _, prefix = s3_prefix.removeprefix("s3://").partition("/")
    listed = s3_service.client().list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}/explanations/{name}/v{version}/"
    )
    assert len(listed.get("Contents", [])) == 2
    assert client.get(f"/predictions/{items[0]['id']}/explanation").content == overlays[0]

    # Unknown ids are 404 in the error shape.
    unknown = client.get("/predictions/00000000-0000-4000-8000-000000000000/explanation")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "prediction_not_found"

    # A version trained before training kept its Keras model (its run on the MLflow server has
    # none): 409 that says what to do. Its prediction is written as POST /predict writes one.
    services = client.app.state.services  # type: ignore[attr-defined]
    row = services.store.get_prediction(items[0]["id"])
    old = dataclasses.replace(row, id=str(uuid.uuid4()), model_version=old_version)
    services.store.record_predictions([old])
    refused = client.get(f"/predictions/{old.id}/explanation")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "no_explainable_model"
    assert f"{name} version {old_version} has no Keras model" in refused.json()["error"]["message"]
