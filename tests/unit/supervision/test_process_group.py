"""Stopping a process group with real processes: SIGTERM first, the whole group waited for, SIGKILL
for a group that ignores SIGTERM, and nothing left behind either way."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from greenr.supervision.process_group import command_line, group_members, stop_group

# A leader with a child in its own process group. The first stops its child on SIGTERM, as
# gunicorn's master stops its worker; in the second both ignore SIGTERM (inherited SIG_IGN).
HONOURS_TERM = "trap 'kill -TERM $child; wait $child; exit 0' TERM; sleep 300 & child=$!; wait"
IGNORES_TERM = "trap '' TERM; sleep 300 & wait"


def start_group(ignore_term: bool) -> subprocess.Popen[bytes]:
    script = IGNORES_TERM if ignore_term else HONOURS_TERM
    leader = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(group_members(leader.pid)) < 2:
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    return leader


@pytest.fixture
def groups() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for leader in started:  # whatever a failed test left
        subprocess.run(["kill", "-KILL", "--", f"-{leader.pid}"], check=False, capture_output=True)
        leader.wait()


def test_a_group_that_honours_sigterm_stops_without_sigkill(groups: list[subprocess.Popen[bytes]]) -> None:
    leader = start_group(ignore_term=False)
    groups.append(leader)
    members = group_members(leader.pid)
    assert leader.pid in members
    assert "sleep 300" in command_line(leader.pid)
    started = time.monotonic()
    assert stop_group(leader.pid, grace_seconds=20) == "stopped"
    assert time.monotonic() - started < 10
    leader.wait()
    assert group_members(leader.pid) == []


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace_period(
    groups: list[subprocess.Popen[bytes]],
) -> None:
    leader = start_group(ignore_term=True)
    groups.append(leader)
    started = time.monotonic()
    assert stop_group(leader.pid, grace_seconds=1) == "killed"
    assert time.monotonic() - started >= 1
    leader.wait()
    assert group_members(leader.pid) == []


def test_force_kills_at_once(groups: list[subprocess.Popen[bytes]]) -> None:
    leader = start_group(ignore_term=True)
    groups.append(leader)
    started = time.monotonic()
    assert stop_group(leader.pid, grace_seconds=30, force=True) == "killed"
    assert time.monotonic() - started < 10
    leader.wait()
    assert group_members(leader.pid) == []


def test_a_process_that_is_gone_is_stopped() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert stop_group(gone.pid, grace_seconds=1) == "stopped"
    assert command_line(gone.pid) == ""
