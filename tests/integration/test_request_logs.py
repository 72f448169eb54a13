"""One request id followed across the web app's, the API's and the model server's JSON logs.

The web app's own API client (ui.api_client, with the web app's logging set-up) sends a photo to a
real API process (scripts/api_server.sh), which calls a real model server (the local deployer's
service); all three write rotated JSON log files into one GREENR_LOG_DIR.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import isolated_env, run_python, run_script
from http_kit import free_port
from model_server_kit import ModelServer, new_server, real_photos

from greenr.json_logging import configure_json_logging
from greenr.settings import REPO_ROOT
from ui.api_client import ApiClient, UploadedFile

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

API_SCRIPT = REPO_ROOT / "scripts" / "api_server.sh"
LINE_KEYS = {"time", "level", "service", "logger", "message", "request_id"}


def read_lines(path: Path) -> list[dict[str, Any]]:
    assert path.is_file(), f"no log file {path}"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def lines_of_request(
    path: Path, request_id: str, route: str, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """The lines of `path` with the request id, once its access line for `route` is there.

    Both access lines arrive after the answer the client already has: the API writes its own
    once the response is sent, and the model server's go through its log writer's pipe.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [line for line in read_lines(path) if line.get("request_id") == request_id]
        if any(line.get("route") == route for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def model_server(tmp_path: Path, serving_env: Path, artifact: Path, log_dir: Path) -> Iterator[ModelServer]:
    server = new_server(tmp_path / "model-server")
    server.start(str(artifact), GREENR_LOG_DIR=str(log_dir))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_url(tmp_path: Path, model_server: ModelServer, log_dir: Path) -> Iterator[str]:
    port = free_port()
    env = isolated_env(
        tmp_path / "home",
        {
            "GREENR_API_PORT": str(port),
            "GREENR_MODEL_SERVER_URL": f"http://127.0.0.1:{model_server.port}",
            "GREENR_LOG_DIR": str(log_dir),
        },
    )
    # The web app's key, as the quickstart makes it (home/api-keys/web-app.key).
    keys = run_python(["-m", "greenr.api.keys", "setup-local"], env)
    assert keys.returncode == 0, keys.stdout + keys.stderr
    started = run_script(API_SCRIPT, "start", env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        run_script(API_SCRIPT, "stop", env)


@pytest.fixture
def web_app_logging(log_dir: Path) -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    hooks = (sys.excepthook, threading.excepthook)
    configure_json_logging("web-app", "INFO", log_dir)
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level = saved
        # configure_json_logging also logs uncaught exceptions and warnings: not pytest's.
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


def test_one_request_id_in_all_three_services_logs(
    api_url: str, log_dir: Path, web_app_logging: None, tmp_path: Path
) -> None:
    photo = real_photos(1)[0]
    client = ApiClient(api_url, api_key=(tmp_path / "home" / "api-keys" / "web-app.key").read_text().strip())
    answer = asyncio.run(client.predict([UploadedFile(photo.name, photo.read_bytes(), "image/jpeg")]))
    assert answer.model is not None
    version = answer.model.version

    (web_line,) = [line for line in read_lines(log_dir / "web-app.log") if line.get("path") == "/predict"]
    rid = web_line["request_id"]
    assert rid
    api_lines = lines_of_request(log_dir / "api.log", rid, "/predict")
    model_lines = lines_of_request(log_dir / "model-server.log", rid, "/api/v1.0/predictions")

    assert any(line.get("route") == "/predict" and line.get("status") == 200 for line in api_lines), api_lines
    (model_access,) = [line for line in model_lines if line.get("route") == "/api/v1.0/predictions"]
    assert model_access["status"] == 200
    # Every line has the common shape; the model server names the version it serves.
    for line, service in ((web_line, "web-app"), (api_lines[0], "api"), (model_access, "model-server")):
        assert set(line) >= LINE_KEYS, line
        assert line["service"] == service
    assert model_access["model_version"] == version
    # Other requests have other ids: the id is per request, not per process.
    assert len({line["request_id"] for line in read_lines(log_dir / "model-server.log")}) > 1


def test_every_line_in_the_services_log_files_is_json(
    api_url: str, model_server: ModelServer, log_dir: Path, tmp_path: Path
) -> None:
    # Their own lines, uvicorn's (API) and gunicorn's (model server) among them; and the API's
    # stdout and stderr file (the daemon's server.log), which it rotates itself.
    files = {
        "api": [*log_dir.glob("api.log*"), *(tmp_path / "home" / "api").glob("server.log*")],
        "model-server": [*log_dir.glob("model-server.log*"), model_server.runtime / "service.log"],
    }
    loggers: dict[str, set[str]] = {}
    for service, paths in files.items():
        assert paths, service
        for path in paths:
            for line in path.read_text().splitlines():
                entry = json.loads(line)  # fails on a plain-text line
                assert set(entry) >= LINE_KEYS, (path, entry)
                assert entry["service"] == service, (path, entry)
                loggers.setdefault(service, set()).add(str(entry["logger"]))
    assert "gunicorn.error" in loggers["model-server"], loggers
