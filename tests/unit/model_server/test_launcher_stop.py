"""The image launcher stops what it started: every descendant, SIGKILL for what ignores SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time

from serving.seldon_launcher import _alive, descendants, stop_processes

# A process that ignores SIGTERM and starts a child that does not (like a gRPC server's worker).
STUBBORN_PARENT = (
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "time.sleep(60)\n"
)


def test_stop_processes_ends_a_process_that_ignores_sigterm_and_its_children() -> None:
    parent = subprocess.Popen([sys.executable, "-c", STUBBORN_PARENT])
    try:
        deadline = time.monotonic() + 20
        while not descendants(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        (child,) = descendants(parent.pid)
        started = time.monotonic()
        stop_processes([parent.pid], timeout=0.5)
        assert parent.wait(timeout=5) != 0  # killed, not exited
        assert time.monotonic() - started < 3
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()
        parent.wait()


def test_descendants_of_a_process_without_children_is_empty() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert descendants(sleeper.pid) == []
        assert _alive(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not _alive(sleeper.pid)
