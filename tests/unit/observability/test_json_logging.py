"""The one log line shape, the request id rules, and size-bounded rotated files."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenr.json_logging import (
    JsonFormatter,
    configure_json_logging,
    incoming_request_id,
    model_version,
    request_id,
)
from greenr.settings import REPO_ROOT


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    hooks = (sys.excepthook, threading.excepthook)
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level = saved
        # configure_json_logging also logs uncaught exceptions and warnings: not pytest's.
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


def record(message: str, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("greenr.test", logging.WARNING, __file__, 1, message, None, None)
    entry.__dict__.update(extra)
    return entry


def test_a_line_has_the_common_fields_the_request_id_and_the_extras() -> None:
    token = request_id.set("abc123")
    version = model_version.set("7")
    try:
        line = json.loads(JsonFormatter("api").format(record("hello", route="/predict")))
    finally:
        request_id.reset(token)
        model_version.reset(version)
    assert line["service"] == "api"
    assert line["level"] == "WARNING"
    assert line["message"] == "hello"
    assert line["request_id"] == "abc123"
    assert line["model_version"] == "7"
    assert line["route"] == "/predict"
    assert line["time"].endswith("+00:00")


def test_outside_a_request_the_id_is_null_and_a_default_version_applies() -> None:
    line = json.loads(JsonFormatter("model-server", default_model_version="3").format(record("x")))
    assert line["request_id"] is None
    assert line["model_version"] == "3"


@pytest.mark.parametrize("header", ["abc-123_x.y:z", "a" * 128])
def test_a_plain_incoming_id_is_kept(header: str) -> None:
    assert incoming_request_id(header) == header


@pytest.mark.parametrize("header", [None, "", "has space", "a" * 129, "new\nline", 'quote"'])
def test_a_missing_or_unsafe_incoming_id_is_replaced(header: str | None) -> None:
    rid = incoming_request_id(header)
    assert rid != header
    assert len(rid) == 32


def test_files_rotate_at_the_size_bound_and_errors_still_reach_stderr(
    tmp_path: Path, restore_root_logger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_json_logging("api", "INFO", tmp_path, max_bytes=2000, backups=2)
    logger = logging.getLogger("greenr.test.rotation")
    for index in range(100):
        logger.info("line %d %s", index, "x" * 50)
    logger.error("something broke")
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["api.log", "api.log.1", "api.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2000 for name in files)
    last = [json.loads(line) for line in (tmp_path / "api.log").read_text().splitlines()][-1]
    assert last["message"] == "something broke"
    stderr = capsys.readouterr().err
    assert "something broke" in stderr
    assert "line 99" not in stderr


# Every line a server writes to its output file is one of these (time, level, service, ...).
REQUIRED_KEYS = {"time", "level", "service", "logger", "message", "request_id"}


def run_writer(output_log: Path, lines: int, max_bytes: int) -> subprocess.CompletedProcess[bytes]:
    """tests/output_log_writer.py with its stdout and stderr sent to `output_log`, as the daemon does."""
    with output_log.open("wb") as output:
        return subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "tests" / "output_log_writer.py"),
                str(output_log),
                str(lines),
                str(max_bytes),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            timeout=60,
            check=False,
        )


def json_lines(path: Path) -> list[dict[str, object]]:
    entries = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)  # fails on any plain-text line
        assert set(entry) >= REQUIRED_KEYS, entry
        entries.append(entry)
    return entries


def test_everything_a_server_writes_to_its_output_file_is_a_json_line(tmp_path: Path) -> None:
    output_log = tmp_path / "server.log"
    finished = run_writer(output_log, lines=3, max_bytes=1_000_000)
    assert finished.returncode == 1  # the uncaught exception
    entries = json_lines(output_log)
    assert {entry["service"] for entry in entries} == {"api"}
    messages = [str(entry["message"]) for entry in entries]
    assert "a plain print from a library" in messages
    assert "two lines" in messages
    assert "in one print" in messages
    assert any("a library's warning" in message for message in messages)
    (crash,) = [entry for entry in entries if entry["level"] == "CRITICAL"]
    assert crash["message"] == "uncaught RuntimeError: the server crashed"
    assert "Traceback" in str(crash["exception"])


def test_a_server_output_file_rotates_at_the_size_bound(tmp_path: Path) -> None:
    output_log = tmp_path / "server.log"
    run_writer(output_log, lines=200, max_bytes=3000)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["server.log", "server.log.1", "server.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 3000
        json_lines(tmp_path / name)
    # The newest file holds the end: the crash, after the last logged line.
    assert json_lines(output_log)[-1]["level"] == "CRITICAL"


def test_gunicorn_s_own_lines_are_json(
    tmp_path: Path, restore_root_logger: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local model server's --logger-class (gunicorn's lines: starting, booting a worker, ...).
    from gunicorn.config import Config

    from serving.gunicorn_logging import JsonLogger

    monkeypatch.setenv("GREENR_LOG_DIR", str(tmp_path))
    log = JsonLogger(Config())
    log.info("Booting worker with pid: %s", 42)
    log.error("Worker failed to boot.")
    (booting, failed) = [
        json.loads(line) for line in (tmp_path / "model-server.log").read_text().splitlines()
    ]
    assert booting["message"] == "Booting worker with pid: 42"
    assert booting["logger"] == "gunicorn.error"
    assert booting["service"] == failed["service"] == "model-server"
    assert failed["level"] == "ERROR"
