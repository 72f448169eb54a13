"""Starting, stopping and showing a background server, with real processes and a real HTTP server."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from http_kit import free_port

from greenr.supervision.daemon import (
    NOT_RUNNING,
    DaemonError,
    DaemonSpec,
    local_address,
    running_pid,
    start,
    status,
    stop,
)
from greenr.supervision.process_group import group_members

pytestmark = pytest.mark.slow


def _spec(tmp_path: Path, command: tuple[str, ...], port: int, timeout: float = 30) -> DaemonSpec:
    address = f"http://127.0.0.1:{port}"
    return DaemonSpec(
        name="test-server",
        state_dir=tmp_path / "state",
        command=command,
        command_mark=command[-1],
        probe_url=f"{address}/",
        address=address,
        port_setting="TEST_PORT",
        start_timeout_seconds=timeout,
        grace_seconds=5,
        reason_pattern=r"^test-server: error",
        cwd=tmp_path,
    )


def _http_server(port: int) -> tuple[str, ...]:
    # The last argument is the command mark: unique to this test's server.
    return (sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port))


@pytest.fixture
def messages() -> list[str]:
    return []


def test_start_status_stop_of_a_real_server(tmp_path: Path, messages: list[str]) -> None:
    port = free_port()
    spec = _spec(tmp_path, _http_server(port), port)
    pid = start(spec, messages.append)
    try:
        assert running_pid(spec) == pid
        assert start(spec, messages.append) == pid  # idempotent
        assert messages[-1] == f"already running (pid {pid}) at http://127.0.0.1:{port}"
        found = status(spec, messages.append)
        assert found.code == 0
        assert found.pid == pid
        assert "Directory listing" in (found.body or "")
        elsewhere = _spec(tmp_path, _http_server(port), free_port())
        with pytest.raises(DaemonError, match=r"already runs at http://127\.0\.0\.1:"):
            start(elsewhere, messages.append)
    finally:
        stop(spec, messages.append)
    assert messages[-1] == "stopped"
    assert group_members(pid) == []
    assert not spec.pid_file.exists()
    assert status(spec, messages.append).code == NOT_RUNNING
    stop(spec, messages.append)  # stopping twice is fine
    assert messages[-1] == "not running"


def test_a_server_that_dies_at_start_says_why(tmp_path: Path, messages: list[str]) -> None:
    script = "import sys; print('starting'); print('test-server: error: TEST_SETTING is bad'); sys.exit(1)"
    spec = _spec(tmp_path, (sys.executable, "-c", script), free_port())
    with pytest.raises(DaemonError, match="TEST_SETTING is bad") as failure:
        start(spec, messages.append)
    assert "starting" not in str(failure.value)  # the reason line only, not the whole log
    assert not spec.pid_file.exists()


def test_the_reason_in_a_json_log_line_is_shown_as_its_message(tmp_path: Path, messages: list[str]) -> None:
    # Servers log JSON lines (greenr/json_logging.py); the reason is the line's message.
    line = '{"level": "ERROR", "service": "t", "message": "test-server: error: TEST_SETTING is bad"}'
    script = f"import sys; print({line!r}); sys.exit(1)"
    spec = _spec(tmp_path, (sys.executable, "-c", script), free_port())
    with pytest.raises(DaemonError) as failure:
        start(spec, messages.append)
    assert str(failure.value).endswith("says:\ntest-server: error: TEST_SETTING is bad")


def test_the_server_is_told_its_output_file(tmp_path: Path, messages: list[str]) -> None:
    # It rotates that file itself (GREENR_OUTPUT_LOG, greenr.json_logging.RedirectedOutputHandler).
    script = "import os, sys; print('test-server: error: ' + os.environ['GREENR_OUTPUT_LOG']); sys.exit(1)"
    spec = _spec(tmp_path, (sys.executable, "-c", script), free_port())
    with pytest.raises(DaemonError, match=f"test-server: error: {spec.log_file}$"):
        start(spec, messages.append)


def test_a_server_that_never_answers_is_stopped_after_the_timeout(
    tmp_path: Path, messages: list[str]
) -> None:
    spec = _spec(tmp_path, (sys.executable, "-c", "import time; time.sleep(600)"), free_port(), timeout=1)
    with pytest.raises(DaemonError, match=r"no answer from .* after 1 s: stopped it"):
        start(spec, messages.append)
    assert not spec.pid_file.exists()
    assert _children_sleeping() == []


def _children_sleeping() -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and b"time.sleep(600)" in _cmdline(entry)
    ]


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes()
    except OSError:
        return b""


def test_a_stale_pid_file_never_signals_an_unrelated_process(tmp_path: Path, messages: list[str]) -> None:
    port = free_port()
    spec = _spec(tmp_path, _http_server(port), port)
    spec.state_dir.mkdir(parents=True)
    spec.pid_file.write_text(f"{os.getpid()}\n")  # this test process: not the server
    assert running_pid(spec) is None
    stop(spec, messages.append)
    assert messages == ["not running"]
    assert not spec.pid_file.exists()


def test_a_taken_port_is_refused_with_the_setting_to_change(tmp_path: Path, messages: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        spec = _spec(tmp_path, _http_server(port), port)
        with pytest.raises(DaemonError, match=r"something else already listens .* \(set TEST_PORT\)"):
            start(spec, messages.append)
    assert not spec.pid_file.exists()


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "[::]"])
def test_an_any_address_bind_is_reached_on_the_loopback(host: str) -> None:
    assert local_address(host, 8000) == "http://127.0.0.1:8000"


def test_a_named_host_is_reached_as_named() -> None:
    assert local_address("10.1.2.3", 8080) == "http://10.1.2.3:8080"
