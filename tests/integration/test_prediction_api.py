"""The prediction API against a real Seldon model server, real databases and a real object store.

The model server is the real one (the local deployer's service, .venv-serving) serving the small ONNX
model of tests/model_server_kit.py; `Reference` runs that model in this process, so the
API's probabilities are checked to 1e-5. Most tests run the API in-process (FastAPI's TestClient,
lifespan included) on SQLite and a local lake; one runs it on PostgreSQL + SeaweedFS, and one runs
it as a real process through scripts/api_server.sh.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from cli_runner import isolated_env, run_script
from conftest import S3Service
from fastapi.testclient import TestClient
from http_kit import free_port
from model_server_kit import (
    ModelServer,
    Reference,
    assert_features_match,
    assert_matches,
    metric_total,
    new_server,
    process_group,
    real_photos,
)
from photo_factory import decompression_bomb_png, jpeg_bytes, mpo_bytes, photo, png_bytes
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.api.keys.tokens import parse_token
from greenr.api.predictions_store import FeedbackRow
from greenr.api.services import ApiServices
from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine
from greenr.contracts import LABELS
from greenr.features.definitions import feature_set
from greenr.settings import REPO_ROOT, Settings, load_settings

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

API_SCRIPT = REPO_ROOT / "scripts" / "api_server.sh"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

FileField = tuple[str, tuple[str, bytes, str]]


def jpeg_file(path: Path) -> FileField:
    return ("files", (path.name, path.read_bytes(), "image/jpeg"))


def upload(name: str, data: bytes, content_type: str) -> FileField:
    return ("files", (name, data, content_type))


@dataclass
class Api:
    """The API running in-process, with the settings it was built from; the client sends an admin key."""

    client: TestClient
    settings: Settings
    key: str

    @property
    def services(self) -> ApiServices:
        services: ApiServices = self.client.app.state.services  # type: ignore[attr-defined]
        return services

    def predict(self, *files: FileField, **headers: str) -> httpx.Response:
        response: httpx.Response = self.client.post("/predict", files=list(files), headers=headers)
        return response

    def lake_files(self, prefix: str) -> list[str]:
        root = Path(self.settings.lake)
        return sorted(str(p.relative_to(root)) for p in (root / prefix).rglob("*") if p.is_file())


def model_url(server: ModelServer) -> str:
    return f"http://127.0.0.1:{server.port}"


@contextmanager
def running_api(monkeypatch: pytest.MonkeyPatch, model_server_url: str, **env: str) -> Iterator[Api]:
    """The API on the test's GREENR_HOME (SQLite, local lake), with extra GREENR_* variables."""
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", model_server_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    # An admin key sees every prediction, as these tests expect; its own rate so no test waits.
    key = make_key(settings.catalog_url, Role.ADMIN, rate_per_second=1000.0, burst=1000)
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL, headers=bearer(key)) as client:
        yield Api(client, settings, key)


def unlabelled_sample(metrics_text: str, name: str) -> float:
    """The value of a metric without labels (Prometheus text format)."""
    for line in metrics_text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics")


def assert_error(response: httpx.Response, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code, body
    assert fragment in body["error"]["message"], body
    assert "Traceback" not in response.text


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, model_server: ModelServer) -> Iterator[Api]:
    with running_api(monkeypatch, model_url(model_server)) as running:
        yield running


# ---------------------------------------------------------------- predictions


def test_each_prediction_row_holds_its_feature_columns(api: Api, reference: Reference) -> None:
    photos = real_photos(2)
    response = api.predict(*(jpeg_file(path) for path in photos))
    assert response.status_code == 200, response.text
    expected = reference.features([path.read_bytes() for path in photos])
    ids = [item["id"] for item in response.json()["predictions"]]
    rows = [api.services.store.get_prediction(i) for i in ids]  # read back from the catalog
    stored: list[dict[str, Any]] = [
        {"features": row.features, "feature_set_version": row.feature_set_version} for row in rows if row
    ]
    assert_features_match(stored, expected)
    # The artifact has the embedding output and its reduction: every column has a value.
    assert all(value is not None for row in stored for value in row["features"].values())


def test_a_model_without_embedding_output_leaves_those_columns_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, serving_env: Path, old_artifact: Path
) -> None:
    server = new_server(tmp_path)
    server.start(str(old_artifact))
    try:
        with running_api(monkeypatch, model_url(server)) as old_api:
            response = old_api.predict(jpeg_file(real_photos(1)[0]))
            assert response.status_code == 200, response.text
            (item,) = response.json()["predictions"]
            row = old_api.services.store.get_prediction(item["id"])
    finally:
        server.stop()
    assert row is not None
    assert row.features is not None
    assert row.feature_set_version == feature_set().version
    empty = {name for name, value in row.features.items() if value is None}
    assert empty == set(feature_set().names("embedding"))


def test_predict_one_real_photo(api: Api, reference: Reference) -> None:
    path = real_photos(1)[0]
    data = path.read_bytes()
    response = api.predict(jpeg_file(path))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "greenr-classifier", "version": "3"}
    (item,) = body["predictions"]
    assert UUID_RE.fullmatch(item["id"])
    assert item["filename"] == path.name
    assert item["error"] is None
    assert item["model_version"] == "3"
    assert item["latency_ms"] > 0
    assert_matches([item], reference.probabilities([data]))
    assert item["confidence"] == pytest.approx(max(item["probabilities"].values()))

    # Recorded in the catalog, and its bytes kept (content-addressed) for feedback.
    history = api.client.get("/predictions").json()
    assert history["total"] == 1
    (row,) = history["items"]
    assert row["id"] == item["id"]
    assert row["label"] == item["label"]
    assert row["probabilities"] == item["probabilities"]
    assert row["feedback_label"] is None
    sha = hashlib.sha256(data).hexdigest()
    assert row["sha256"] == sha
    assert api.lake_files("predictions") == [f"predictions/{sha}.jpg"]


def test_batch_keeps_order_and_reports_bad_files(api: Api, reference: Reference) -> None:
    photos = real_photos(2)
    images = [path.read_bytes() for path in photos]
    response = api.predict(
        jpeg_file(photos[0]),
        upload("notes.jpg", b"dandelion,grass\nnot an image\n", "image/jpeg"),
        jpeg_file(photos[1]),
        upload("readme.txt", b"hello", "text/plain"),
        jpeg_file(photos[2]),
        jpeg_file(photos[3]),
    )
    assert response.status_code == 200, response.text
    items = response.json()["predictions"]
    assert [item["filename"] for item in items] == [
        photos[0].name,
        "notes.jpg",
        photos[1].name,
        "readme.txt",
        photos[2].name,
        photos[3].name,
    ]
    good = [items[0], items[2], items[4], items[5]]
    expected = reference.probabilities(images)
    # The fixture model must tell the photos apart, or the order check would prove nothing.
    assert np.ptp(expected[:, 0]) > 0.01
    assert_matches(good, expected)
    for bad, code in ((items[1], "not_an_image"), (items[3], "unsupported_media_type")):
        assert bad["error"]["code"] == code
        assert bad["filename"] in bad["error"]["message"]
        assert bad["id"] is bad["label"] is bad["probabilities"] is bad["confidence"] is None
    assert len({item["id"] for item in good}) == 4
    assert api.client.get("/predictions").json()["total"] == 4


def test_png_and_webp(api: Api, reference: Reference) -> None:
    picture = photo(5, (300, 200))
    files = []
    for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp")):
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt)
        files.append(upload(f"picture.{fmt.lower()}", buffer.getvalue(), mime))
    response = api.predict(*files)
    assert response.status_code == 200, response.text
    assert_matches(response.json()["predictions"], reference.probabilities([f[1][1] for f in files]))
    assert {Path(key).suffix for key in api.lake_files("predictions")} == {".png", ".webp"}


def test_history_is_newest_first_and_paginated(api: Api) -> None:
    photos = real_photos(3)
    ids = []
    for path in photos:
        response = api.predict(jpeg_file(path))
        assert response.status_code == 200, response.text
        ids.append(response.json()["predictions"][0]["id"])
    newest_first = ids[::-1]

    seen: list[str] = []
    for offset in range(0, 6, 4):
        page = api.client.get("/predictions", params={"limit": 4, "offset": offset}).json()
        assert page["total"] == 6
        assert page["limit"] == 4
        assert page["offset"] == offset
        seen += [item["id"] for item in page["items"]]
    assert seen == newest_first
    times = [item["created_at"] for item in api.client.get("/predictions").json()["items"]]
    assert times == sorted(times, reverse=True)
    assert api.client.get("/predictions", params={"offset": 6}).json()["items"] == []
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "many"}):
        assert_error(api.client.get("/predictions", params=params), 422, "invalid_request", "query.")
    assert api.client.get("/predictions", params={"limit": 200}).status_code == 200


# ---------------------------------------------------------------- feedback


def test_feedback(api: Api, model_server: ModelServer) -> None:
    path = real_photos(1)[0]
    item = api.predict(jpeg_file(path)).json()["predictions"][0]
    predicted = item["label"]
    other = next(label for label in LABELS if label != predicted)
    before = model_server.metrics()

    response = api.client.post("/feedback", json={"prediction_id": item["id"], "label": other})
    assert response.status_code == 201, response.text
    wrong = response.json()
    assert set(wrong) == {"id", "prediction_id", "label", "correct", "created_at"}
    assert UUID_RE.fullmatch(wrong["id"])
    assert wrong["prediction_id"] == item["id"]
    assert wrong["label"] == other
    assert wrong["correct"] is False

    (row,) = api.client.get("/predictions").json()["items"]
    sha = row["sha256"]
    assert api.lake_files("feedback") == [f"feedback/{other}/{sha}.jpg"]
    assert (Path(api.settings.lake) / f"feedback/{other}/{sha}.jpg").read_bytes() == path.read_bytes()

    # The key changes its mind: its answer is replaced (200, same id), and the image moves.
    response = api.client.post("/feedback", json={"prediction_id": item["id"], "label": predicted})
    assert response.status_code == 200, response.text
    assert response.json()["correct"] is True
    assert response.json()["id"] == wrong["id"]
    (row,) = api.client.get("/predictions").json()["items"]
    assert row["feedback_label"] == predicted
    assert api.lake_files("feedback") == [f"feedback/{predicted}/{sha}.jpg"]

    # Forwarded to the model server (a background task: TestClient waits for it).
    after = model_server.metrics()

    def forwarded(truth: str, correct: str) -> float:
        return metric_total(after, "greenr_feedback_total", truth=truth, correct=correct) - metric_total(
            before, "greenr_feedback_total", truth=truth, correct=correct
        )

    assert forwarded(other, "false") == 1
    assert forwarded(predicted, "true") == 1

    metrics = api.client.get("/metrics").text
    assert f'greenr_api_feedback_total{{correct="false",label="{other}"}} 1.0' in metrics


def _bad_feedback() -> list[Any]:
    unknown = str(uuid.uuid4())
    return [
        pytest.param(
            {"prediction_id": unknown, "label": "grass"},
            404,
            "prediction_not_found",
            unknown,
            id="unknown-id",
        ),
        pytest.param(
            {"prediction_id": unknown, "label": "daisy"},
            422,
            "invalid_request",
            "label: Input should be 'dandelion', 'grass' or 'neither'",
            id="invalid-label",
        ),
        pytest.param(
            {"prediction_id": "42", "label": "grass"},
            422,
            "invalid_request",
            "prediction_id: not a UUID",
            id="uuid",
        ),
        pytest.param(
            {"label": "grass"}, 422, "invalid_request", "prediction_id: field required", id="missing"
        ),
        pytest.param(
            {"prediction_id": unknown, "label": "grass", "extra": 1},
            422,
            "invalid_request",
            "extra",
            id="extra-field",
        ),
        pytest.param("{not json", 422, "invalid_request", "not valid JSON", id="not-json"),
    ]


@pytest.mark.parametrize(("payload", "status", "code", "fragment"), _bad_feedback())
def test_bad_feedback(api: Api, payload: Any, status: int, code: str, fragment: str) -> None:
    if isinstance(payload, str):
        response = api.client.post("/feedback", content=payload, headers={"Content-Type": "application/json"})
    else:
        response = api.client.post("/feedback", json=payload)
    assert_error(response, status, code, fragment)


# ---------------------------------------------------------------- model info, health, metrics


def test_model_info(api: Api) -> None:
    response = api.client.get("/model/info")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "name": "greenr-classifier",
        "version": "3",
        "alias": "champion",
        "labels": list(LABELS),
        "metrics": {"test_accuracy": 0.95, "test_f1": 0.94},
        "dataset_version": "dataset-test-0001",
        "exported_at": "2025-11-27T12:00:00Z",
        "fallback": False,
        "model_card": "/model/card",
    }


def test_the_model_card_of_the_served_version(api: Api) -> None:
    missing = api.client.get("/model/card")
    assert_error(missing, 404, "model_card_not_found", "greenr-classifier version 3 was published without")
    card = Path(api.settings.lake) / "models" / "greenr-classifier" / "v3" / "model_card.md"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text("# Model card: greenr-classifier version 3\n\nIntended use: lawns.\n")
    response = api.client.get("/model/card")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.text == card.read_text()


def test_health_when_everything_runs(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "ready": True,
        "model_server": {"reachable": True, "model_version": "3", "fallback": False},
        "database": {"reachable": True, "writable": True},
    }
    assert api.client.get("/health/ready").status_code == 200


def test_metrics(api: Api) -> None:
    photos = real_photos(2)
    items = api.predict(*(jpeg_file(path) for path in photos)).json()["predictions"]
    api.predict(upload("empty.jpg", b"", "image/jpeg"))
    api.client.get("/predictions")
    text = api.client.get("/metrics").text
    for label in LABELS:
        count = sum(1 for item in items if item["label"] == label)
        assert metric_total(text, "greenr_api_predictions_total", label=label) == count
    assert unlabelled_sample(text, "greenr_api_prediction_confidence_count") == 4
    assert metric_total(text, "greenr_api_requests_total", route="/predict", status="200") == 1
    assert metric_total(text, "greenr_api_requests_total", route="/predict", status="422") == 1
    assert metric_total(text, "greenr_api_requests_total", route="/predictions", status="200") == 1
    assert (
        metric_total(text, "greenr_api_request_duration_seconds_count", route="/predict", method="POST") == 2
    )
    assert metric_total(text, "greenr_api_rejected_files_total", code="empty_file") == 1
    assert 'greenr_api_model_info{name="greenr-classifier",version="3"} 1.0' in text
    assert "# TYPE greenr_api_model_server_errors_total counter" in text
    assert "# TYPE greenr_api_prediction_confidence histogram" in text


# ---------------------------------------------------------------- a model server that is down or stuck


def test_model_server_stopped(
    monkeypatch: pytest.MonkeyPatch, serving_env: Path, artifact: Path, tmp_path: Path
) -> None:
    server = new_server(tmp_path / "model-server")
    server.start(str(artifact))
    try:
        with running_api(monkeypatch, model_url(server), GREENR_MODEL_SERVER_TIMEOUT_SECONDS="3") as api:
            photo_file = jpeg_file(real_photos(1)[0])
            assert api.predict(photo_file).status_code == 200
            server.stop()

            started = time.monotonic()
            response = api.predict(photo_file)
            assert time.monotonic() - started < 3
            assert_error(
                response,
                503,
                "model_server_unavailable",
                "try again in a moment; operators: python -m greenr.deployment status",
            )
            health = api.client.get("/health")
            assert health.status_code == 200
            assert health.json() == {
                "status": "degraded",
                "ready": False,
                "model_server": {"reachable": False, "model_version": None, "fallback": None},
                "database": {"reachable": True, "writable": True},
            }
            assert api.client.get("/health/ready").status_code == 503
            assert_error(api.client.get("/model/info"), 503, "model_server_unavailable", "try again")
            # Nothing was recorded for the failed request; history and feedback still work.
            assert api.client.get("/predictions").json()["total"] == 1
            metrics = api.client.get("/metrics").text
            assert metric_total(metrics, "greenr_api_model_server_errors_total", kind="connect") >= 3
            assert metric_total(metrics, "greenr_api_requests_total", route="/predict", status="503") == 1

            # Back up: the API recovers without a restart.
            server.start(str(artifact))
            assert api.predict(photo_file).status_code == 200
            assert api.client.get("/health").json()["status"] == "ok"
    finally:
        server.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a stuck model server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_model_server_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        silent_server() as port,
        running_api(
            monkeypatch, f"http://127.0.0.1:{port}", GREENR_MODEL_SERVER_TIMEOUT_SECONDS="1.5"
        ) as api,
    ):
        started = time.monotonic()
        response = api.predict(jpeg_file(real_photos(1)[0]))
        elapsed = time.monotonic() - started
        assert_error(response, 503, "model_server_unavailable", "did not answer in time")
        assert 1.4 < elapsed < 3.5
        started = time.monotonic()
        health = api.client.get("/health").json()
        assert time.monotonic() - started < 3
        assert health["ready"] is False
        assert health["status"] == "degraded"
        metrics = api.client.get("/metrics").text
        assert metric_total(metrics, "greenr_api_model_server_errors_total", kind="timeout") >= 2


# ---------------------------------------------------------------- bad inputs


LIMIT = 200_000
MAX_FILES = 4


def _noise_png(side: int) -> bytes:
    """A PNG that does not compress: side x side random pixels (~3 bytes per pixel)."""
    pixels = np.random.default_rng(0).integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    return png_bytes(Image.fromarray(pixels))


def _gif() -> bytes:
    buffer = io.BytesIO()
    photo(3).save(buffer, format="GIF")
    return buffer.getvalue()


def _bad_uploads() -> list[Any]:
    good = jpeg_bytes(photo(1))
    small = jpeg_bytes(photo(2, (64, 64)))
    return [
        pytest.param(
            [upload("photo.txt", b"a dandelion", "text/plain")],
            415,
            "unsupported_media_type",
            "photo.txt: text/plain is not accepted: send a JPEG, PNG or WebP photo",
            id="wrong-content-type",
        ),
        pytest.param(
            [upload("animation.gif", _gif(), "application/octet-stream")],
            415,
            "unsupported_media_type",
            "animation.gif: GIF images are not accepted",
            id="gif-sent-as-octet-stream",
        ),
        pytest.param(
            [upload("notes.jpg", b"dandelion,grass\nnot an image\n", "image/jpeg")],
            422,
            "not_an_image",
            "notes.jpg: the file is not a recognised image format",
            id="text-file-named-jpg",
        ),
        pytest.param(
            [upload("cut.jpg", good[: len(good) // 2], "image/jpeg")],
            422,
            "corrupt_image",
            "cut.jpg: the image data is corrupt or truncated",
            id="truncated-jpeg",
        ),
        pytest.param(
            [upload("empty.jpg", b"", "image/jpeg")],
            422,
            "empty_file",
            "empty.jpg: the file is empty (0 bytes)",
            id="empty-file",
        ),
        pytest.param(
            [upload("huge.png", _noise_png(300), "image/png")],
            413,
            "file_too_large",
            f"huge.png: the file is larger than the limit of {LIMIT} bytes",
            id="file-over-the-limit",
        ),
        pytest.param(
            [upload("bomb.png", decompression_bomb_png(), "image/png")],
            422,
            "decompression_bomb",
            "bomb.png: too many pixels to decode safely (",
            id="decompression-bomb",
        ),
        pytest.param(
            [upload(f"p{i}.jpg", small, "image/jpeg") for i in range(MAX_FILES + 1)],
            413,
            "too_many_files",
            f"{MAX_FILES + 1} files were sent, at most {MAX_FILES} are accepted per request",
            id="too-many-files",
        ),
        pytest.param(
            [upload("a.jpg", b"", "image/jpeg"), upload("b.jpg", b"", "image/jpeg")],
            422,
            "empty_file",
            "a.jpg: the file is empty (0 bytes): send a JPEG, PNG or WebP photo; b.jpg: the file is empty",
            id="every-file-empty",
        ),
        pytest.param(
            [upload("a.txt", b"x", "text/plain"), upload("b.jpg", b"", "image/jpeg")],
            422,
            "all_files_rejected",
            "no file could be classified: a.txt: text/plain is not accepted",
            id="every-file-bad-differently",
        ),
        pytest.param(
            [upload("big.jpg", b"\xff" * (LIMIT * MAX_FILES + 2_000_000), "image/jpeg")],
            413,
            "request_too_large",
            "the request body is larger than",
            id="whole-body-over-the-limit",
        ),
    ]


@pytest.fixture
def strict_api(monkeypatch: pytest.MonkeyPatch, model_server: ModelServer) -> Iterator[Api]:
    """The API with a small upload limit and few files per request."""
    with running_api(
        monkeypatch,
        model_url(model_server),
        GREENR_MAX_UPLOAD_BYTES=str(LIMIT),
        GREENR_MAX_BATCH_FILES=str(MAX_FILES),
    ) as running:
        yield running


@pytest.mark.parametrize(("files", "status", "code", "message"), _bad_uploads())
def test_bad_uploads(strict_api: Api, files: list[FileField], status: int, code: str, message: str) -> None:
    assert_error(strict_api.predict(*files), status, code, message)
    if code == "decompression_bomb":
        assert (
            "send a photo of at most 40000000 pixels" in strict_api.predict(*files).json()["error"]["message"]
        )
    assert strict_api.client.get("/predictions").json()["total"] == 0
    # And the API keeps serving.
    assert strict_api.predict(jpeg_file(real_photos(1)[0])).status_code == 200


def _malformed_requests() -> list[Any]:
    return [
        pytest.param(
            {"data": {"other": "x"}},
            422,
            "invalid_request",
            'files: no file sent: upload one or more images as multipart form field "files"',
            id="no-files-field",
        ),
        pytest.param({"data": {"files": "not a file"}}, 422, "invalid_request", "files", id="files-as-text"),
        pytest.param(
            {"json": {"files": []}}, 422, "invalid_request", "files", id="json-instead-of-multipart"
        ),
        pytest.param(
            {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
            422,
            "invalid_request",
            "files",
            id="broken-multipart",
        ),
    ]


@pytest.mark.parametrize(("request_args", "status", "code", "message"), _malformed_requests())
def test_malformed_predict_requests(
    strict_api: Api, request_args: dict[str, Any], status: int, code: str, message: str
) -> None:
    assert_error(strict_api.client.post("/predict", **request_args), status, code, message)


def test_unknown_routes_and_methods(api: Api) -> None:
    assert_error(api.client.get("/nowhere"), 404, "not_found", "see /docs")
    assert_error(api.client.get("/predict"), 405, "method_not_allowed", "see /docs")


# ---------------------------------------------------------------- PostgreSQL + S3


def test_postgres_and_s3(
    monkeypatch: pytest.MonkeyPatch,
    model_server: ModelServer,
    postgres_url: str,
    s3_service: S3Service,
    s3_prefix: str,
) -> None:
    env = {
        "GREENR_DATABASE_URL": postgres_url,
        "GREENR_LAKE_URI": s3_prefix,
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
    }
    photos = real_photos(1)
    with running_api(monkeypatch, model_url(model_server), **env) as api:
        items = api.predict(*(jpeg_file(path) for path in photos)).json()["predictions"]
        assert [item["error"] for item in items] == [None, None]
        response = api.client.post("/feedback", json={"prediction_id": items[1]["id"], "label": "grass"})
        assert response.status_code == 201, response.text
        history = api.client.get("/predictions", params={"limit": 1}).json()
        assert history["total"] == 2
        assert history["items"][0]["id"] == items[1]["id"]
        assert history["items"][0]["feedback_label"] == "grass"
        assert api.client.get("/health").json()["database"] == {"reachable": True, "writable": True}

    engine = create_catalog_engine(postgres_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(schema.Prediction)).all()
            assert {row.id for row in rows} == {item["id"] for item in items}
            assert all(row.object_key and row.object_key.startswith("predictions/") for row in rows)
            (feedback,) = session.scalars(select(schema.Feedback)).all()
            assert feedback.prediction_id == items[1]["id"]
    finally:
        engine.dispose()

    bucket, key_prefix = s3_prefix.removeprefix("s3://").split("/", 1)
    listed = s3_service.client().list_objects_v2(Bucket=bucket, Prefix=key_prefix)
    keys = sorted(item["Key"].removeprefix(key_prefix + "/") for item in listed.get("Contents", []))
    shas = [hashlib.sha256(path.read_bytes()).hexdigest() for path in photos]
    assert f"feedback/grass/{shas[1]}.jpg" in keys
    assert {f"predictions/{sha}.jpg" for sha in shas} <= set(keys)
    # whylogs profiles are the monitoring pipeline's (from these rows), not the API's.
    assert not [key for key in keys if key.startswith("processed/profiles/")]


def test_access_on_postgres_and_s3(
    monkeypatch: pytest.MonkeyPatch,
    model_server: ModelServer,
    postgres_url: str,
    s3_service: S3Service,
    s3_prefix: str,
) -> None:
    """Own history, 404 on another key's prediction, and concurrent answers of one key make one row."""
    env = {
        "GREENR_DATABASE_URL": postgres_url,
        "GREENR_LAKE_URI": s3_prefix,
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
    }
    photo = real_photos(1)[0]
    with running_api(monkeypatch, model_url(model_server), **env) as api:
        user_key = make_key(postgres_url, Role.PREDICT, "user", rate_per_second=1000.0, burst=1000)
        user = bearer(user_key)
        other = bearer(make_key(postgres_url, Role.PREDICT, "other", rate_per_second=1000.0, burst=1000))
        (mine,) = api.client.post("/predict", files=[jpeg_file(photo)], headers=user).json()["predictions"]
        (theirs,) = api.client.post("/predict", files=[jpeg_file(photo)], headers=other).json()["predictions"]
        assert [item["id"] for item in api.client.get("/predictions", headers=user).json()["items"]] == [
            mine["id"]
        ]
        assert api.client.get("/predictions").json()["total"] == 2  # the admin's view
        refused = api.client.post(
            "/feedback", json={"prediction_id": theirs["id"], "label": "grass"}, headers=user
        )
        assert_error(refused, 404, "prediction_not_found", theirs["id"])

        # The route serializes answers on one photo within a process; the database alone must also
        # hold when writers race (several replicas): upserts from 8 threads, straight to the store.
        token = parse_token(user_key)
        assert token is not None

        # The same first answer from 8 writers at once (replicas, retries): exactly one wrote it,
        # so it is counted, refiled and forwarded once.
        def same_answer(_: int) -> str | None:
            row = FeedbackRow(str(uuid.uuid4()), mine["id"], "grass", False, datetime.now(UTC), token.key_id)
            return api.services.store.record_feedback(row)

        with ThreadPoolExecutor(max_workers=8) as pool:
            written = [stored for stored in pool.map(same_answer, range(8)) if stored is not None]
        assert len(written) == 1

        def upsert(index: int) -> str | None:
            row = FeedbackRow(
                str(uuid.uuid4()),
                mine["id"],
                LABELS[index % 2],
                index % 2 == 0,
                datetime.now(UTC),
                token.key_id,
            )
            return api.services.store.record_feedback(row)

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = set(pool.map(upsert, range(32)))
        assert ids - {None} == set(written)  # every writer that changed the answer got the one row's id

        # 16 answers of one key at once, alternating labels: the unique (prediction, key) holds.
        def answer(index: int) -> int:
            label = LABELS[index % 2]
            body = {"prediction_id": mine["id"], "label": label}
            status: int = api.client.post("/feedback", json=body, headers=user).status_code
            return status

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(answer, range(16)))
        assert statuses == [200] * 16  # the upserts above made the row
        final = api.client.get("/predictions", headers=user).json()["items"][0]["feedback_label"]

    engine = create_catalog_engine(postgres_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(schema.Feedback)).all()
            assert [(row.prediction_id, row.label) for row in rows] == [(mine["id"], final)]
            owners = {row.id: row.api_key_id for row in session.scalars(select(schema.Prediction)).all()}
            assert len(set(owners.values())) == 2
    finally:
        engine.dispose()
    bucket, key_prefix = s3_prefix.removeprefix("s3://").split("/", 1)
    listed = s3_service.client().list_objects_v2(Bucket=bucket, Prefix=f"{key_prefix}/feedback/")
    filed = [item["Key"].removeprefix(f"{key_prefix}/feedback/") for item in listed.get("Contents", [])]
    assert filed == [f"{final}/{hashlib.sha256(photo.read_bytes()).hexdigest()}.jpg"]


# ---------------------------------------------------------------- the real process


@dataclass
class ApiProcess:
    """scripts/api_server.sh with its own GREENR_HOME and port."""

    home: Path
    port: int
    model_server_url: str
    key: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        return isolated_env(
            self.home,
            {"GREENR_API_PORT": str(self.port), "GREENR_MODEL_SERVER_URL": self.model_server_url, **extra},
        )

    def script(
        self, command: str, extra: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_script(API_SCRIPT, command, self.env(extra or {}))

    def log_lines(self) -> list[dict[str, Any]]:
        text = (self.home / "api" / "server.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def api_process(tmp_path: Path, model_server: ModelServer) -> Iterator[ApiProcess]:
    process = ApiProcess(home=tmp_path / "home", port=free_port(), model_server_url=model_url(model_server))
    process.key = make_key(
        f"sqlite:///{process.home / 'catalog.db'}", Role.PREDICT, rate_per_second=1000.0, burst=1000
    )
    try:
        yield process
    finally:
        process.script("stop")


def test_api_server_script(api_process: ApiProcess, reference: Reference) -> None:
    result = api_process.script("start")
    assert result.returncode == 0, result.stdout + result.stderr
    pid = int((api_process.home / "api" / "server.pid").read_text())
    status = api_process.script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout.splitlines()[-1])["ready"] is True
    assert api_process.script("start").returncode == 0  # idempotent

    photos = real_photos(8)
    images = [path.read_bytes() for path in photos]
    expected = reference.probabilities(images)
    with httpx.Client(base_url=api_process.url, timeout=30, headers=bearer(api_process.key)) as client:
        # The request id: the caller's when valid, a new one otherwise; in the header and the logs.
        response = client.post(
            "/predict", files=[jpeg_file(photos[0])], headers={"X-Request-ID": "test-request-42"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-Request-ID"] == "test-request-42"
        generated = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers[
            "X-Request-ID"
        ]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        failed = client.post("/predict", files=[upload("e.jpg", b"", "image/jpeg")])
        assert failed.status_code == 422
        failed_id = failed.headers["X-Request-ID"]

        # 16 concurrent requests, each answered right.
        jobs = list(range(16))

        def predict(index: int) -> httpx.Response:
            i = index % len(photos)
            return client.post("/predict", files=[jpeg_file(photos[i])])

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(predict, jobs))
        for index, answer in zip(jobs, answers, strict=True):
            assert answer.status_code == 200, answer.text
            i = index % len(photos)
            assert_matches(answer.json()["predictions"], expected[i : i + 1])
        assert client.get("/predictions").json()["total"] == 17

        # Latency of /predict for one image, sequential, keep-alive (reported, not asserted).
        one = [jpeg_file(photos[1])]
        client.post("/predict", files=one)
        durations = []
        for _ in range(100):
            started = time.perf_counter()
            assert client.post("/predict", files=one).status_code == 200
            durations.append((time.perf_counter() - started) * 1000.0)
        cuts = statistics.quantiles(durations, n=100)
        print(f"\n/predict one image, 100 sequential requests: p50 {cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms")

    result = api_process.script("stop")
    assert result.returncode == 0, result.stdout + result.stderr
    assert process_group(pid) == []
    assert api_process.script("status").returncode == 3

    lines = api_process.log_lines()  # every line is JSON
    tagged = [line for line in lines if line["request_id"] == "test-request-42"]
    assert any(
        line["logger"] == "greenr.api.access" and line["status"] == 200 and line["path"] == "/predict"
        for line in tagged
    )
    assert any(line["request_id"] == failed_id and line.get("status") == 422 for line in lines)
    assert not any("Traceback" in json.dumps(line) for line in lines)

    # whylogs profiles are the monitoring pipeline's, from the catalog: the API writes none.
    assert not list((api_process.home / "lake" / "processed").rglob("*.bin"))


def test_api_server_script_refuses_bad_configuration(api_process: ApiProcess) -> None:
    result = api_process.script("start", {"GREENR_MAX_UPLOAD_BYTES": "-1"})
    assert result.returncode == 1
    assert "GREENR_MAX_UPLOAD_BYTES" in result.stderr
    assert api_process.script("status").returncode == 3


# ---------------------------------------------------------------- hardening (issue 12)


def raw_multipart(*files: tuple[bytes, bytes]) -> tuple[bytes, dict[str, str]]:
    """A multipart body whose file names are sent as raw bytes (httpx would percent-encode controls)."""
    parts = b"".join(
        b'--x\r\nContent-Disposition: form-data; name="files"; filename="'
        + name
        + b'"\r\nContent-Type: image/jpeg\r\n\r\n'
        + data
        + b"\r\n"
        for name, data in files
    )
    return parts + b"--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"}


def test_file_names_are_cleaned_before_postgres_sees_them(
    monkeypatch: pytest.MonkeyPatch, model_server: ModelServer, postgres_url: str
) -> None:
    """A NUL in a text column is a DataError on PostgreSQL: it used to fail the whole batch with a 500."""
    photos = real_photos(1)
    body, headers = raw_multipart(
        (b"lawn\x00.jpg", photos[0].read_bytes()),
        ("photo\u202egpj.exe\x07".encode(), photos[1].read_bytes()),
    )
    with running_api(monkeypatch, model_url(model_server), GREENR_DATABASE_URL=postgres_url) as api:
        response = api.client.post("/predict", content=body, headers=headers)
        assert response.status_code == 200, response.text
        names = [item["filename"] for item in response.json()["predictions"]]
        assert names == ["lawn .jpg", "photogpj.exe"]
        history = api.client.get("/predictions").json()
        assert sorted(item["filename"] for item in history["items"]) == sorted(names)


def test_readiness_tells_a_read_only_postgres(
    monkeypatch: pytest.MonkeyPatch, model_server: ModelServer, postgres_url: str
) -> None:
    with running_api(monkeypatch, model_url(model_server), GREENR_DATABASE_URL=postgres_url) as api:
        assert api.client.get("/health/ready").status_code == 200
        engine = create_catalog_engine(postgres_url)
        try:
            with engine.connect() as connection:
                database = connection.exec_driver_sql("SELECT current_database()").scalar()
                connection.exec_driver_sql(
                    f'ALTER DATABASE "{database}" SET default_transaction_read_only = on'
                )
                connection.commit()
        finally:
            engine.dispose()
        api.services.store.engine.dispose()  # new sessions, as after a failover to a replica
        response = api.client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["database"] == {"reachable": True, "writable": False}
        assert response.headers["Retry-After"] == "2"
        assert_error(
            api.predict(jpeg_file(real_photos(1)[0])), 503, "database_unavailable", "nothing was recorded"
        )


def test_a_multi_picture_jpeg_is_classified_as_its_first_frame(api: Api, reference: Reference) -> None:
    """Phone cameras add an MPF segment; Pillow reads such a JPEG as MPO, which was refused with 415."""
    first, second = photo(11, (640, 480)), photo(12, (160, 120))
    mpo = mpo_bytes(first, second)
    response = api.predict(upload("phone.jpg", mpo, "image/jpeg"))
    assert response.status_code == 200, response.text
    (item,) = response.json()["predictions"]
    # The first frame's scan is what a plain JPEG of it holds: same pixels, same probabilities.
    assert_matches([item], reference.probabilities([jpeg_bytes(first)]))
    assert api.lake_files("predictions") == [f"predictions/{hashlib.sha256(mpo).hexdigest()}.jpg"]


def test_the_pixels_of_one_request_are_bounded(
    monkeypatch: pytest.MonkeyPatch, model_server: ModelServer
) -> None:
    big = jpeg_bytes(photo(13, (1000, 1000)))
    with running_api(monkeypatch, model_url(model_server), GREENR_MAX_REQUEST_PIXELS="1500000") as api:
        response = api.predict(upload("one.jpg", big, "image/jpeg"), upload("two.jpg", big, "image/jpeg"))
        assert response.status_code == 200, response.text
        first, second = response.json()["predictions"]
        assert first["error"] is None
        assert second["error"]["code"] == "too_many_pixels"
        assert "send it in another request" in second["error"]["message"]
