"""serving/log_writer.py: the one writer of the model server's log files, whatever writes to it.

A parent and a forked child log at the same time through it (tests/forking_log_server.py, a
stand-in for gunicorn's master and worker); the real server under it is tested in
tests/integration/test_model_server_logs.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greenr.settings import REPO_ROOT
from serving.log_writer import line_record

LINES = 300
MAX_BYTES = 4000


def run_under_writer(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(REPO_ROOT / "tests" / "forking_log_server.py"), str(LINES)]
    return subprocess.run(
        [sys.executable, "-m", "serving.log_writer", str(tmp_path / "service.log"), *command],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "GREENR_LOG_MAX_BYTES": str(MAX_BYTES), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rotated_lines(current: Path) -> list[dict[str, Any]]:
    """Every line of `current` and its rotated files, oldest file first; each must be JSON."""
    files = sorted(current.parent.glob(current.name + ".*"), key=lambda path: -int(path.suffix[1:]))
    entries = []
    for path in [*files, current]:
        assert path.stat().st_size <= MAX_BYTES, path
        entries += [json.loads(line) for line in path.read_text().splitlines()]
    return entries


def test_two_processes_lines_rotate_whole_and_in_order(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    result = run_under_writer(tmp_path, GREENR_LOG_DIR=str(log_dir), GREENR_LOG_BACKUPS="1000")
    assert result.returncode == 3, result.stderr  # the server's own status
    assert result.stdout == result.stderr == ""
    assert len(list(log_dir.glob("model-server.log.*"))) > 5  # rotated while it ran
    entries = rotated_lines(log_dir / "model-server.log")
    messages = [str(entry["message"]) for entry in entries]
    for role in ("master", "worker"):
        # Every line of each process once, whole, in the order it wrote them.
        numbered = [message for message in messages if message.startswith(f"{role} line ")]
        assert numbered == [f"{role} line {index} {'x' * 60}" for index in range(LINES)]
    # Its processes do not open the folder's files themselves: the writer removed the setting.
    assert messages.count("GREENR_LOG_DIR in the server: None") == 2
    (plain,) = [entry for entry in entries if entry["logger"] == "output"]
    assert plain["message"] == "a plain print from a library"
    assert entries[-1]["message"] == "model server: python exited with status 3"
    # service.log keeps the errors only.
    errors = rotated_lines(tmp_path / "service.log")
    assert sorted(entry["message"] for entry in errors) == [
        "master: one error",
        "model server: python exited with status 3",
        "worker: one error",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs", "service.log"]


def test_without_a_log_folder_service_log_keeps_every_line_bounded(tmp_path: Path) -> None:
    result = run_under_writer(tmp_path, GREENR_LOG_BACKUPS="2")
    assert result.returncode == 3, result.stderr
    service_logs = sorted(path.name for path in tmp_path.iterdir())
    assert service_logs == ["service.log", "service.log.1", "service.log.2"]
    entries = rotated_lines(tmp_path / "service.log")
    assert entries[-1]["message"] == "model server: python exited with status 3"


def test_a_missing_command_is_a_json_line_with_the_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "serving.log_writer", str(tmp_path / "service.log"), "/nonexistent/gunicorn"],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    (line,) = rotated_lines(tmp_path / "service.log")
    assert line["level"] == "CRITICAL"
    assert line["message"].startswith("model server cannot start: /nonexistent/gunicorn:")


@pytest.mark.parametrize(
    ("raw", "level", "kept"),
    [
        (b'{"level": "ERROR", "message": "x"}\n', "ERROR", True),
        (b'{"level": "WARNING", "message": "100% sure"}\n', "WARNING", True),
        (b'{"message": "no level"}\n', "INFO", True),
        (b"Segmentation fault\n", "WARNING", False),
        (b"[1, 2]\n", "WARNING", False),
    ],
)
def test_a_line_keeps_its_level_and_a_plain_line_is_wrapped(raw: bytes, level: str, kept: bool) -> None:
    record = line_record(raw)
    assert record.levelname == level
    assert (getattr(record, "json_line", None) == raw.decode().rstrip("\n")) is kept
