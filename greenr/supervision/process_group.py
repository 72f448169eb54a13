"""Finding, waiting for and ending a process group: what `stop` needs for a server run under setsid.

A server started with `setsid` leads its own process group, so the group holds every process it
started (gunicorn's master and worker, anything they fork). Stopping waits until the whole group
is gone, not just the leader, so that nothing is left holding the port or the model in memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def group_members(pgid: int, proc: Path = PROC) -> list[int]:
    """Pids of the live processes whose process group is `pgid` (zombies excluded)."""
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return sorted(members)


def command_line(pid: int, proc: Path = PROC) -> str:
    """The process's command line with spaces between arguments ("" when it is gone or a zombie)."""
    try:
        return (
            (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        )
    except OSError:
        return ""


def wait_group_gone(pgid: int, seconds: float, poll: float = 0.2) -> bool:
    """True once no live process of the group is left, False after `seconds`."""
    deadline = time.monotonic() + seconds
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True


class GroupStopError(RuntimeError):
    """A process group survived SIGKILL (a process stuck in the kernel)."""


def stop_group(leader: int, grace_seconds: float, force: bool = False) -> str:
    """SIGTERM to the leader (it finishes requests in flight and stops its children), then wait
    for the whole group; SIGKILL the group after `grace_seconds` (at once when `force`).

    Returns what happened, for the log: "stopped" or "killed".
    """
    try:
        pgid = os.getpgid(leader)
    except ProcessLookupError:
        return "stopped"
    if not force:
        _signal(leader, signal.SIGTERM)
        if wait_group_gone(pgid, grace_seconds):
            return "stopped"
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    if not wait_group_gone(pgid, 10):
        raise GroupStopError(f"process group {pgid} does not stop, even after SIGKILL: {group_members(pgid)}")
    return "killed"


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
