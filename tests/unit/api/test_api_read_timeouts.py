"""Read timeouts and connection limits, against the API served by a real uvicorn (issue 12, part 6).

Clients here are raw sockets that stall on purpose: a partial request head, a body shorter than
its Content-Length, a body that drips. The model server URL is a closed port; SQLite catalog.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from api_keys_kit import make_key
from http_kit import free_port
from live_server import live_api

from greenr.settings import load_settings

# Generous against a loaded CI machine; what is checked is that the server acts at all.
WAIT_SECONDS = 10.0
# The Host and Authorization header lines of every request (set by the `port` fixture).
HOST_AND_KEY = b""


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GREENR_HEADER_READ_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("GREENR_BODY_READ_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("GREENR_BODY_TOTAL_TIMEOUT_SECONDS", "2")
    # Requests name a trusted host and carry a key: these tests are about what comes after.
    global HOST_AND_KEY
    key = make_key(load_settings().catalog_url, rate_per_second=1000, burst=1000)
    HOST_AND_KEY = f"Host: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n".encode()
    with live_api(load_settings()) as serving:
        yield serving


def connect(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS)
    return client


def read_until_closed(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def json_of(answer: bytes) -> tuple[int, dict[str, dict[str, str]]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def test_a_connection_that_never_completes_its_head_is_closed(port: int) -> None:
    with connect(port) as client:
        client.sendall(b"POST /feedback HTTP/1.1\r\n" + HOST_AND_KEY)  # and nothing more
        started = time.monotonic()
        assert read_until_closed(client) == b""
        assert time.monotonic() - started < WAIT_SECONDS


def test_a_silent_connection_is_closed(port: int) -> None:
    with connect(port) as client:
        assert read_until_closed(client) == b""


def test_a_keep_alive_connection_stalling_in_its_next_head_is_closed(port: int) -> None:
    with connect(port) as client:
        client.sendall(b"GET /health HTTP/1.1\r\n" + HOST_AND_KEY + b"\r\n")
        time.sleep(0.1)
        first = client.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        client.sendall(b"GET /health HTTP/1.1\r\nHost:")
        assert read_until_closed(client) == b""


def test_a_body_shorter_than_its_content_length_gets_408(port: int) -> None:
    with connect(port) as client:
        client.sendall(
            b"POST /feedback HTTP/1.1\r\n" + HOST_AND_KEY + b"Content-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"label": '
        )
        status, body = json_of(read_until_closed(client))
    assert status == 408
    assert body["error"]["code"] == "request_timeout"
    assert "nothing for 0.5 s" in body["error"]["message"]


def test_a_stalled_upload_gets_408(port: int) -> None:
    with connect(port) as client:
        client.sendall(
            b"POST /predict HTTP/1.1\r\n"
            + HOST_AND_KEY
            + b"Content-Type: multipart/form-data; boundary=x\r\n"
            b'Content-Length: 100000\r\n\r\n--x\r\nContent-Disposition: form-data; name="files"; '
            b'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8'
        )
        status, body = json_of(read_until_closed(client))
    assert status == 408
    assert body["error"]["code"] == "request_timeout"


def test_a_dripping_body_gets_408_at_the_total_timeout(port: int) -> None:
    with connect(port) as client:
        client.sendall(
            b"POST /feedback HTTP/1.1\r\n" + HOST_AND_KEY + b"Content-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        answer = b""
        client.settimeout(0.3)
        for _ in range(int(WAIT_SECONDS / 0.3)):
            try:
                client.sendall(b" ")  # within the idle timeout every time
            except OSError:
                break
            try:
                chunk = client.recv(65536)
            except TimeoutError:
                continue
            answer += chunk
            if not chunk or b"}}" in answer:
                break
    status, body = json_of(answer)
    assert status == 408
    assert "not all of it within 2 s" in body["error"]["message"]


def test_headers_over_the_limit_get_431(port: int) -> None:
    with connect(port) as client:
        client.sendall(b"GET /health HTTP/1.1\r\n" + HOST_AND_KEY + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        status, body = json_of(read_until_closed(client))
    assert status == 431
    assert body["error"]["code"] == "headers_too_large"
    assert "more than 16384" in body["error"]["message"]
