"""The tracking server probe: a server that is down is one line in seconds, any answer is "up"."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from greenr.registry.model_registry import RegistryError
from greenr.registry.tracking_server import check_tracking_server


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Unauthorized(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(name="guarded_server")
def guarded_server_fixture() -> Iterator[str]:
    """An HTTP server that answers every request 401, like a tracking server behind a login."""
    server = HTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_down_is_named_with_what_to_do() -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(RegistryError) as raised:
        check_tracking_server(uri, timeout=2.0)
    message = str(raised.value)
    assert message.startswith(f"the MLflow tracking server at {uri} does not answer (")
    assert "MLFLOW_TRACKING_URI" in message
    assert "\n" not in message


def test_any_http_answer_counts_as_there(guarded_server: str) -> None:
    check_tracking_server(guarded_server, timeout=2.0)


def test_a_local_backend_is_not_probed(tmp_path: object) -> None:
    check_tracking_server(f"sqlite:///{tmp_path}/mlflow.db")
    check_tracking_server("file:///nowhere/mlruns")


def test_the_registry_command_and_the_explanations_ask_first(capsys: pytest.CaptureFixture[str]) -> None:
    from greenr.explain.keras_source import keras_file_of
    from greenr.registry.__main__ import main

    uri = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(RegistryError, match="does not answer"):
        keras_file_of(uri, "greenr-classifier", "1")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        assert main(["show"]) == 1
    assert capsys.readouterr().err.startswith(f"error: the MLflow tracking server at {uri} does not answer")
