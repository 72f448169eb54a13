"""The local model server's log files are rotated while it runs, by one writer per file.

A real server (the local deployer's service: serving/log_writer.py running gunicorn's master and
worker) with a small GREENR_LOG_MAX_BYTES answers enough predictions to rotate its files several
times; every line must be JSON, whole, in exactly one file, in the order it was written.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from model_server_kit import ModelServer, b64, process_group, real_photos

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_BYTES = 3000
REQUESTS = 40
LINE_KEYS = {"time", "level", "service", "logger", "message", "request_id"}


def predict_with_ids(server: ModelServer, ids: list[str]) -> None:
    """One prediction per id, sent one after the other with that X-Request-ID."""
    body = json.dumps({"binData": b64(real_photos(1)[0].read_bytes())}).encode()
    for request_id in ids:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/v1.0/predictions",
            data=body,
            headers={"Content-Type": "application/json", "X-Request-ID": request_id},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200


def rotated_set(current: Path) -> list[Path]:
    """`current` and its rotated files, oldest first (name.N ... name.1, name)."""
    rotated = sorted(current.parent.glob(current.name + ".*"), key=lambda path: -int(path.suffix[1:]))
    return [*rotated, current]


def json_lines(files: list[Path]) -> list[dict[str, Any]]:
    entries = []
    for path in files:
        assert path.stat().st_size <= MAX_BYTES, path
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                entry = json.loads(line)
            except ValueError:
                pytest.fail(f"{path.name}:{number} is not a JSON line: {line!r}")
            assert set(entry) >= LINE_KEYS, (path, entry)
            entries.append(entry)
    return entries


def open_log_files(pid: int, folders: tuple[Path, ...]) -> set[str]:
    """The files under `folders` that process `pid` holds open."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if any(target.startswith(str(folder)) for folder in folders):
            held.add(target)
    return held


@pytest.mark.parametrize("with_log_dir", [True, False], ids=["model-server.log", "service.log"])
def test_the_log_files_rotate_while_the_server_runs_and_keep_every_line(
    own_server: ModelServer, artifact: Path, tmp_path: Path, with_log_dir: bool
) -> None:
    log_dir = tmp_path / "logs"
    settings = {"GREENR_LOG_MAX_BYTES": str(MAX_BYTES), "GREENR_LOG_BACKUPS": "1000"}
    if with_log_dir:
        settings["GREENR_LOG_DIR"] = str(log_dir)
    own_server.start(str(artifact), **settings)
    service_log = own_server.runtime / "service.log"

    # One writer per file: of the server's processes, only one holds any log file open.
    group = process_group(os.getpgid(own_server.pid()))
    assert len(group) == 3, group  # the log writer, gunicorn's master and its worker
    holders = {pid: open_log_files(pid, (log_dir, own_server.runtime)) for pid in group}
    ((_, held),) = [(pid, held) for pid, held in holders.items() if held]
    assert str(service_log) in held
    assert (str(log_dir / "model-server.log") in held) is with_log_dir

    ids = [f"rotation-{number:03d}" for number in range(REQUESTS)]
    predict_with_ids(own_server, ids)
    own_server.stop()  # the writer ends after the server's last lines

    current = log_dir / "model-server.log" if with_log_dir else service_log
    files = rotated_set(current)
    assert len(files) > 3, files  # rotated several times while it ran
    entries = json_lines(files)
    assert {entry["service"] for entry in entries} == {"model-server"}
    # Every access line once, in the order the requests were sent, across the files.
    access = [entry["request_id"] for entry in entries if entry.get("route") == "/api/v1.0/predictions"]
    assert access == ids
    # The master's lines (gunicorn starting, listening, stopping) and the worker's both arrived.
    messages = [entry["message"] for entry in entries]
    assert any(message.startswith("Listening at") for message in messages), messages[:20]
    assert any(message.startswith("Booting worker") for message in messages), messages[:20]
    assert any(message.startswith("Shutting down") for message in messages), messages[-20:]
    if with_log_dir:
        # service.log keeps only the errors (none here): the start-up reason the deployer reads.
        assert json_lines(rotated_set(service_log)) == []
