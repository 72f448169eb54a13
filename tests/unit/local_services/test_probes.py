"""Readiness probes: HTTP answers, waiting with a deadline, a process that dies while waited for."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from http_kit import free_port, serving

from greenr.local_services.__main__ import main
from greenr.local_services.probes import NotReady, http_status, wait_until


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Handler)) as url:
        yield url


def free_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/health"


def test_http_status_reads_success_and_error_answers(server_url: str) -> None:
    assert http_status(f"{server_url}/health", 2.0) == 200
    assert http_status(f"{server_url}/other", 2.0) == 503  # an error status is still an answer


def test_http_status_is_none_when_nothing_listens() -> None:
    assert http_status(free_port_url(), 1.0) is None


def test_http_ok_command_exit_status(server_url: str) -> None:
    assert main(["http-ok", f"{server_url}/health"]) == 0
    assert main(["http-ok", f"{server_url}/other"]) == 1
    assert main(["http-ok", free_port_url(), "--timeout", "0.5"]) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_until_returns_once_ready() -> None:
    clock = FakeClock()
    answers = iter([False, False, True])
    wait_until(lambda: next(answers), what="thing", timeout=10, clock=clock, sleep=clock.sleep, interval=1)
    assert clock.now == 2


def test_wait_until_gives_up_at_the_deadline() -> None:
    clock = FakeClock()
    with pytest.raises(NotReady, match=r"thing: not ready after 5 s"):
        wait_until(lambda: False, what="thing", timeout=5, clock=clock, sleep=clock.sleep, interval=1)
    assert 5 < clock.now <= 7


def test_wait_until_stops_at_once_when_the_process_died() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    clock = FakeClock()
    with pytest.raises(NotReady, match=rf"its process \(pid {process.pid}\) exited"):
        wait_until(lambda: False, what="thing", timeout=60, pid=process.pid, clock=clock, sleep=clock.sleep)
    assert clock.now < 1
