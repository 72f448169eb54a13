"""The application's plumbing without a model server: error shape, body limit, request ids, logs, docs.

The model server URL points at a closed port (a real "connection refused"); the catalog is SQLite.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from fastapi.testclient import TestClient
from http_kit import free_port

from greenr.api.app import create_app
from greenr.api.body_limit import request_body_limit
from greenr.api.logging_setup import JsonFormatter, request_id
from greenr.api.schemas import FeedbackRequest
from greenr.contracts import ANSWERS
from greenr.settings import load_settings


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GREENR_MAX_UPLOAD_BYTES", "1000")
    monkeypatch.setenv("GREENR_MAX_BATCH_FILES", "2")
    settings = load_settings()
    app = create_app(settings)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    key = make_key(settings.catalog_url)
    with TestClient(app, base_url=TRUSTED_BASE_URL, headers=bearer(key)) as test_client:
        yield test_client


def assert_error(response: object, status: int, code: str) -> dict[str, str]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["code", "message"]
    assert body["error"]["code"] == code
    error: dict[str, str] = body["error"]
    return error


def test_the_feedback_labels_are_the_projects_answers() -> None:
    assert get_args(FeedbackRequest.model_fields["label"].annotation) == ANSWERS


def test_nothing_happens_at_import_or_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_HOME", str(tmp_path / "home"))
    create_app(load_settings())
    assert not (tmp_path / "home").exists()


def test_health_without_a_model_server(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "ready": False,
        "model_server": {"reachable": False, "model_version": None, "fallback": None},
        "database": {"reachable": True, "writable": True},
    }
    assert client.get("/health/ready").status_code == 503


def test_an_unexpected_error_is_a_500_without_details(client: TestClient) -> None:
    response = client.get("/boom", headers={"X-Request-ID": "abc-123"})
    error = assert_error(response, 500, "internal_error")
    assert "abc-123" in error["message"]
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["X-Request-ID"] == "abc-123"


def test_a_declared_body_over_the_limit_is_refused_unread(client: TestClient) -> None:
    limit = request_body_limit(1000, 2)
    response = client.post("/predict", files=[("files", ("a.jpg", b"\xff" * (limit + 1), "image/jpeg"))])
    error = assert_error(response, 413, "request_too_large")
    assert str(limit) in error["message"]


def test_a_chunked_body_over_the_limit_is_cut_off(client: TestClient) -> None:
    limit = request_body_limit(1000, 2)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(limit // 65536 + 10):
            sent += 65536
            yield b"\xff" * 65536

    response = client.post(
        "/predict", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert_error(response, 413, "request_too_large")


def test_request_ids(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "caller.id-1"}).headers["X-Request-ID"]
        == "caller.id-1"
    )
    for bad in (b"", b"with space", b"x" * 129, "naïve".encode("latin-1"), b"a\tb"):
        generated = client.get("/health", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert len(generated) == 32
        assert generated.encode() != bad
    assert client.get("/nowhere").headers["X-Request-ID"]


def test_openapi_documents_the_contract_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/predict",
        "/predictions",
        "/feedback",
        "/model/info",
        "/health",
        "/health/ready",
        "/metrics",
    } <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    for name in (
        "PredictResponse",
        "HealthResponse",
        "ModelInfoResponse",
        "FeedbackResponse",
        "HistoryResponse",
    ):
        assert schemas[name].get("examples"), name
    predict = spec["paths"]["/predict"]["post"]
    assert {"413", "415", "422", "503"} <= set(predict["responses"])
    assert "multipart/form-data" in predict["requestBody"]["content"]
    assert client.get("/docs").status_code == 200


def test_json_log_lines_carry_the_request_id() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("greenr.api.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.status = 200
    token = request_id.set("rid-1")
    try:
        line = json.loads(formatter.format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "hello world"
    assert line["request_id"] == "rid-1"
    assert line["level"] == "INFO"
    assert line["status"] == 200
    assert json.loads(formatter.format(record))["request_id"] is None


def test_readiness_tells_a_locked_database(client: TestClient, tmp_path: Path) -> None:
    """Another process holds the catalog's write lock: reads work, a prediction could not be recorded."""
    assert client.get("/health").json()["database"] == {"reachable": True, "writable": True}
    catalog = load_settings().catalog_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(catalog, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["database"] == {"reachable": True, "writable": False}
        assert response.json()["ready"] is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/health").json()["database"] == {"reachable": True, "writable": True}
