"""The checks asked of the running containers, against real local servers and the real key CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_runner import isolated_env

from greenr.containers.probes import (
    API_KEY_NAME,
    ProbeError,
    check_non_root,
    checked_prediction,
    key_from_output,
    wait_for,
)
from greenr.settings import REPO_ROOT


class _Starting(BaseHTTPRequestHandler):
    """503 for the first two requests, then 200: a server that takes a while to be ready."""

    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        self.send_response(200 if type(self).calls > 2 else 503)
        self.end_headers()
        self.wfile.write(b"starting" if type(self).calls <= 2 else b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def starting_server() -> Iterator[str]:
    _Starting.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Starting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


def test_wait_for_polls_until_the_server_is_ready(starting_server: str) -> None:
    answered = wait_for(starting_server, timeout=30, sleep=lambda _: None)
    assert answered.status == 200
    assert _Starting.calls == 3


def test_wait_for_gives_up_naming_the_last_answer(starting_server: str) -> None:
    with pytest.raises(ProbeError, match=r"did not answer 204 within 0 s \(last: HTTP 503: starting\)"):
        wait_for(starting_server, timeout=0, expect=204, sleep=lambda _: None)


def test_wait_for_names_a_refused_connection() -> None:
    with pytest.raises(ProbeError, match="ConnectError"):
        wait_for("http://127.0.0.1:9/health", timeout=0, sleep=lambda _: None)


def test_the_key_is_read_from_the_real_key_commands_output(tmp_path: Path) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "greenr.api.keys", "create", "--name", API_KEY_NAME, "--role", "predict"],
        env=isolated_env(tmp_path, {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPO_ROOT,
    )
    key = key_from_output(created.stdout)
    assert key
    assert " " not in key
    assert key in created.stdout


def test_an_output_without_a_key_is_an_error() -> None:
    with pytest.raises(ProbeError, match="printed no key"):
        key_from_output("error: the catalog database cannot be reached\n")


def test_one_classified_photo_is_a_prediction() -> None:
    item = {"label": "grass", "probabilities": {"dandelion": 0.2, "grass": 0.8}}
    assert checked_prediction({"model": {}, "predictions": [item]}) == item


@pytest.mark.parametrize(
    "body",
    [
        {"predictions": []},
        {"predictions": [{"label": "grass", "probabilities": {"grass": 1.0}}] * 2},
        {"predictions": [{"label": None, "probabilities": None, "error": {"code": "not_an_image"}}]},
        {"predictions": [{"label": "cat", "probabilities": {"cat": 1.0}}]},
    ],
)
def test_anything_else_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ProbeError):
        checked_prediction(body)


def test_root_is_refused() -> None:
    check_non_root("api", 10001)
    with pytest.raises(ProbeError, match="runs as root"):
        check_non_root("api", 0)


def test_wait_for_stops_at_once_when_the_server_is_gone(starting_server: str) -> None:
    with pytest.raises(ProbeError, match="cannot answer: container api exited with code 1"):
        wait_for(
            starting_server,
            timeout=600,
            sleep=lambda _: None,
            gone=lambda: "container api exited with code 1",
        )
    assert _Starting.calls == 1
