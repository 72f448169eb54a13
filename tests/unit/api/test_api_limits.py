"""Per-route body limits, JSON depth, upload slots, decode slots and Retry-After (issue 12, parts 5 and 7).

The model server URL is a closed port (503 `model_server_unavailable` is what a good image gets);
the catalog is SQLite. Concurrency is made real with stalled raw-socket uploads to a live server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from fastapi.testclient import TestClient
from http_kit import free_port
from live_server import live_api
from photo_factory import photo, png_bytes

from greenr.api.app import create_app
from greenr.api.decode_slots import DecodeSlots
from greenr.api.errors import ApiError
from greenr.api.limits import json_depth
from greenr.settings import load_settings


def admin_key() -> str:
    """An admin key in this test's catalog, with a rate no test here reaches."""
    return make_key(load_settings().catalog_url, rate_per_second=1000, burst=1000)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    headers = bearer(admin_key())
    with TestClient(create_app(load_settings()), base_url=TRUSTED_BASE_URL, headers=headers) as test_client:
        yield test_client


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    return message


def test_offsets_past_the_bound_are_refused_not_a_500(client: TestClient) -> None:
    bound = load_settings().max_history_offset
    assert client.get("/predictions", params={"offset": bound}).status_code == 200
    for offset in (bound + 1, 2**63, 10**30):
        message = error_of(client.get("/predictions", params={"offset": offset}), 422, "invalid_request")
        assert "query.offset" in message


def test_the_offset_bound_is_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_MAX_HISTORY_OFFSET", "100")
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    headers = bearer(admin_key())
    with TestClient(create_app(load_settings()), base_url=TRUSTED_BASE_URL, headers=headers) as client:
        assert client.get("/predictions", params={"offset": 100}).status_code == 200
        error_of(client.get("/predictions", params={"offset": 101}), 422, "invalid_request")
        parameters = client.get("/openapi.json").json()["paths"]["/predictions"]["get"]["parameters"]
        (offset,) = [p for p in parameters if p["name"] == "offset"]
        assert offset["schema"]["maximum"] == 100


def test_a_large_json_body_is_refused_unread(client: TestClient) -> None:
    padding = "x" * 200_000
    response = client.post(
        "/feedback",
        content=f'{{"prediction_id": "{padding}", "label": "grass"}}',
        headers={"Content-Type": "application/json"},
    )
    message = error_of(response, 413, "request_too_large")
    assert "larger than 65536 bytes: send a smaller JSON body" in message


def test_a_chunked_json_body_over_the_limit_is_cut_off(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"label": "grass", "prediction_id": "'
        for _ in range(10):
            yield b"x" * 10_000

    response = client.post("/feedback", content=chunks(), headers={"Content-Type": "application/json"})
    error_of(response, 413, "request_too_large")


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_a_422_not_a_500(client: TestClient, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    body = opener * 5000 + "1" + closer * 5000  # 30 KiB at most: within the size limit
    response = client.post("/feedback", content=body, headers={"Content-Type": "application/json"})
    assert "nests deeper than 32 levels" in error_of(response, 422, "invalid_request")


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, [2]], "c": "\\"[["}') == 3
    assert json_depth(b"[]") == 1
    assert json_depth(b"42") == 0


def test_a_flat_json_body_still_reaches_the_route(client: TestClient) -> None:
    response = client.post("/feedback", json={"prediction_id": "42", "label": "grass"})
    assert "not a UUID" in error_of(response, 422, "invalid_request")


def test_every_503_says_when_to_retry(client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    response = client.post("/model/info")
    assert response.status_code == 405
    assert "Retry-After" not in response.headers
    assert client.get("/model/info").headers["Retry-After"] == "2"


def test_decode_slots_wait_then_answer_busy() -> None:
    slots = DecodeSlots(1, wait_seconds=0.2)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with slots.slot():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    with pytest.raises(ApiError) as caught, slots.slot():
        pass
    assert (caught.value.problem.status, caught.value.problem.code) == (503, "busy")
    release.set()
    holder.join()
    with slots.slot():  # free again
        pass


def stalled_upload(port: int, key: str) -> socket.socket:
    """A POST /predict whose body has begun and stalls: it holds an upload slot."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n".encode()
        + b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n"
    )
    return client


def test_uploads_beyond_the_cap_are_answered_503_busy_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GREENR_MAX_CONCURRENT_UPLOADS", "2")
    monkeypatch.setenv("GREENR_RETRY_AFTER_SECONDS", "7")
    key = admin_key()
    with live_api(load_settings()) as port:
        stalled = [stalled_upload(port, key) for _ in range(2)]
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=bearer(key)) as http:
                # The stalled uploads are in progress once the server answers anything after them.
                assert http.get("/health").status_code == 200
                response = http.post("/predict", files=[("files", ("a.jpg", b"\xff\xd8", "image/jpeg"))])
                assert "already receiving 2 uploads" in error_of(response, 503, "busy")
                assert response.headers["Retry-After"] == "7"
                assert http.get("/predictions").status_code == 200  # other routes are not capped
        finally:
            for client in stalled:
                client.close()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=bearer(key)) as http:
            response = http.post("/predict", files=[("files", ("a.txt", b"x", "text/plain"))])
            assert response.status_code == 415  # slots are given back


def predict_statuses(metrics: str) -> dict[str, float]:
    """POST /predict answers counted in the API's metrics, by status."""
    prefix = 'greenr_api_requests_total{method="POST",route="/predict",status="'
    return {
        line[len(prefix) : line.index('"', len(prefix))]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(prefix)
    }


def wait_for_predict_answer(port: int) -> dict[str, float]:
    """The API's /predict answers by status, once it has answered one (up to 60 s on a loaded machine)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for _ in range(300):
            statuses = predict_statuses(http.get("/metrics").text)
            if statuses:
                return statuses
            time.sleep(0.2)
    return {}


def test_a_client_leaving_mid_upload_is_an_abandoned_request_not_a_malformed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The body stops half-way and the connection closes: 499 in the metrics, never 400."""
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    png = png_bytes(photo(3, (64, 64)))
    request = httpx.Request("POST", "http://api/predict", files=[("files", ("p.png", png, "image/png"))])
    body = request.read()
    with live_api(load_settings()) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {admin_key()}\r\n"
                f"Content-Type: {request.headers['Content-Type']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[: len(body) // 2]
            )
            time.sleep(0.5)  # the API is waiting for the rest of the body when the client leaves
        assert wait_for_predict_answer(port) == {"499": 1.0}


def test_work_stops_when_the_client_has_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client sends 24 large images and leaves: the API stops checking them (499 in its metrics)."""
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    png = png_bytes(photo(3, (2000, 2000)))
    files = [("files", (f"p{i}.png", png, "image/png")) for i in range(24)]
    request = httpx.Request("POST", "http://api/predict", files=files)
    content_type = request.headers["Content-Type"]
    body = request.read()
    key = admin_key()
    with live_api(load_settings()) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        # Gone: whether the API notices while the body streams in or before its next file, the
        # request is recorded as abandoned, and no model-server call was made (that would be 503).
        statuses = wait_for_predict_answer(port)
    assert statuses == {"499": 1.0}
