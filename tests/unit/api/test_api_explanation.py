"""GET /predictions/{id}/explanation in-process: SQLite catalog, local lake, an MLflow registry in
SQLite holding a small real Keras model (no model server: explanations never touch it)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from explanation_kit import register_run_version, tiny_keras_bytes
from fastapi.testclient import TestClient
from http_kit import free_port
from photo_factory import jpeg_bytes, photo
from PIL import Image

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.api.explanation import EXPLANATIONS_PREFIX
from greenr.api.keys.tokens import parse_token
from greenr.api.predictions_store import PredictionRow
from greenr.api.services import ApiServices
from greenr.explain.explainer import Explainer
from greenr.registry.model_registry import RegistryError
from greenr.settings import Settings, load_settings
from greenr.storage.object_store import S3Options, open_object_store

MODEL = "greenr-explain-test"


pytestmark = pytest.mark.slow  # TensorFlow and a Keras model behind most requests


@pytest.fixture(scope="module")
def keras_bytes() -> bytes:
    return tiny_keras_bytes()


@dataclass(frozen=True)
class Registry:
    uri: str
    with_keras: str  # a version whose run holds model.keras
    without_keras: str  # a version trained before that


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, keras_bytes: bytes) -> Registry:
    """An MLflow registry in SQLite with two versions (made once: MLflow's migrations take seconds)."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri, artifacts = f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri()
    with_keras = register_run_version(uri, MODEL, keras_bytes, artifacts)
    return Registry(uri, with_keras, register_run_version(uri, MODEL, None, artifacts))


@dataclass
class Site:
    client: TestClient
    settings: Settings
    user: str
    other: str
    admin: str
    monitor: str
    with_keras: str  # a version whose run holds model.keras
    without_keras: str  # a version trained before that

    @property
    def services(self) -> ApiServices:
        services: ApiServices = self.client.app.state.services  # type: ignore[attr-defined]
        return services

    def use(self, services: ApiServices) -> None:
        self.client.app.state.services = services  # type: ignore[attr-defined]

    def prediction(self, key: str, data: bytes, version: str, kept: bool = True) -> PredictionRow:
        sha = hashlib.sha256(data).hexdigest()
        token = parse_token(key)
        assert token is not None
        object_key = f"predictions/{sha}.jpg"
        if kept:
            self.services.objects.put(object_key, data)
        row = PredictionRow(
            id=str(uuid.uuid4()),
            created_at=datetime.now(UTC),
            filename="meadow.jpg",
            sha256=sha,
            label="dandelion",
            probabilities={"dandelion": 0.6, "grass": 0.4},
            confidence=0.6,
            model_name=MODEL,
            model_version=version,
            latency_ms=10.0,
            object_key=object_key if kept else None,
            api_key_id=token.key_id,
        )
        self.services.store.record_predictions([row])
        return row

    def explanation(self, key: str, prediction_id: str, **params: str) -> httpx.Response:
        response: httpx.Response = self.client.get(
            f"/predictions/{prediction_id}/explanation", headers=bearer(key), params=params
        )
        return response


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, registry: Registry) -> Iterator[Site]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.uri)
    settings = load_settings()
    url = settings.catalog_url
    keys = [make_key(url, role, name) for role, name in ((Role.PREDICT, "web"), (Role.PREDICT, "phone"))]
    admin, monitor = make_key(url, Role.ADMIN, "ops"), make_key(url, Role.MONITOR, "dashboard")
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL) as client:
        yield Site(
            client, settings, keys[0], keys[1], admin, monitor, registry.with_keras, registry.without_keras
        )


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"], body
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    return message


def test_the_explanation_is_a_png_of_the_photo_kept_for_next_time(site: Site) -> None:
    row = site.prediction(site.user, jpeg_bytes(photo(1, (210, 140))), site.with_keras)
    response = site.explanation(site.user, row.id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG"
        assert image.size == (210, 140)
    key = f"{EXPLANATIONS_PREFIX}/{MODEL}/v{site.with_keras}/{row.sha256}-dandelion.png"
    assert site.services.objects.get(key) == response.content
    # The next answer is the kept one, not drawn again.
    site.services.objects.put(key, b"\x89PNG kept")
    assert site.explanation(site.user, row.id).content == b"\x89PNG kept"


def test_another_class_can_be_asked_for(site: Site) -> None:
    row = site.prediction(site.user, jpeg_bytes(photo(2)), site.with_keras)
    asked = site.explanation(site.user, row.id, label="grass")
    assert asked.status_code == 200, asked.text
    predicted = site.explanation(site.user, row.id)
    assert predicted.status_code == 200
    assert asked.content != predicted.content
    assert_error(site.explanation(site.user, row.id, label="tulip"), 422, "invalid_request")


def test_two_photos_give_two_explanations(site: Site) -> None:
    first = site.prediction(site.user, jpeg_bytes(photo(3)), site.with_keras)
    second = site.prediction(site.user, jpeg_bytes(photo(4)), site.with_keras)
    assert site.explanation(site.user, first.id).content != site.explanation(site.user, second.id).content


def test_access_is_that_of_the_history(site: Site) -> None:
    row = site.prediction(site.user, jpeg_bytes(photo(5)), site.with_keras)
    assert_error(site.explanation(site.other, row.id), 404, "prediction_not_found")
    assert site.explanation(site.admin, row.id).status_code == 200
    assert_error(site.explanation(site.monitor, row.id), 403, "forbidden")
    response = site.client.get(f"/predictions/{row.id}/explanation")
    assert_error(response, 401, "missing_api_key")


def test_unknown_and_malformed_ids(site: Site) -> None:
    message = assert_error(site.explanation(site.user, str(uuid.uuid4())), 404, "prediction_not_found")
    assert "GET /predictions" in message
    assert_error(site.explanation(site.user, "not-a-uuid"), 422, "invalid_request")


def test_a_photo_not_kept_or_expired_is_a_404_that_says_what_to_do(site: Site) -> None:
    never = site.prediction(site.user, jpeg_bytes(photo(6)), site.with_keras, kept=False)
    message = assert_error(site.explanation(site.user, never.id), 404, "photo_not_kept")
    assert "classify it again" in message
    expired = site.prediction(site.user, jpeg_bytes(photo(7)), site.with_keras)
    assert expired.object_key is not None
    site.services.objects.delete(expired.object_key)
    assert_error(site.explanation(site.user, expired.id), 404, "photo_not_kept")


def test_a_version_without_a_keras_model_is_a_409_that_says_what_to_do(site: Site) -> None:
    row = site.prediction(site.user, jpeg_bytes(photo(8)), site.without_keras)
    message = assert_error(site.explanation(site.user, row.id), 409, "no_explainable_model")
    assert f"version {site.without_keras}" in message
    assert "run.py --pipeline training" in message


def test_a_second_explanation_at_once_is_busy_with_retry_after(site: Site, keras_bytes: bytes) -> None:
    inside, release = threading.Event(), threading.Event()

    def slow_fetch(name: str, version: str) -> bytes:
        inside.set()
        release.wait(30)
        return keras_bytes

    explainer = Explainer(slow_fetch, max_models=1, threads=1, max_pixels=40_000_000)
    site.use(dataclasses.replace(site.services, explainer=explainer))
    first = site.prediction(site.user, jpeg_bytes(photo(9)), site.with_keras)
    second = site.prediction(site.user, jpeg_bytes(photo(10)), site.with_keras)
    answers: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answers.append(site.explanation(site.user, first.id)))
    worker.start()
    try:
        assert inside.wait(30)
        busy = site.explanation(site.user, second.id)
        assert_error(busy, 503, "busy")
        assert busy.headers["Retry-After"] == str(site.settings.retry_after_seconds)
    finally:
        release.set()
        worker.join(60)
    assert answers[0].status_code == 200


def test_a_registry_that_cannot_be_read_is_a_503(site: Site) -> None:
    def registry_down(name: str, version: str) -> bytes:  # the fault: MLflow unreachable
        raise RegistryError("cannot list the artifacts of run r at http://127.0.0.1:1 (connection refused)")

    explainer = Explainer(registry_down, max_models=1, threads=1, max_pixels=40_000_000)
    site.use(dataclasses.replace(site.services, explainer=explainer))
    row = site.prediction(site.user, jpeg_bytes(photo(11)), site.with_keras)
    message = assert_error(site.explanation(site.user, row.id), 503, "registry_unavailable")
    assert "MLFLOW_TRACKING_URI" in message


def test_an_object_store_that_is_down_is_a_503(site: Site) -> None:
    row = site.prediction(site.user, jpeg_bytes(photo(12)), site.with_keras)
    down = open_object_store(
        "s3://greenr/lake", S3Options(f"http://127.0.0.1:{free_port()}", "key", "secret", "us-east-1", 2.0)
    )
    site.use(dataclasses.replace(site.services, objects=down))
    message = assert_error(site.explanation(site.user, row.id), 503, "storage_unavailable")
    assert "GREENR_LAKE_URI" in message
