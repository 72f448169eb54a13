"""Start, stop and show one server running in the background on this machine.

The prediction API (`python -m greenr.api.daemon`) and the web app (`python -m ui.daemon`) each
run as a process group of their own (setsid), so that stop can wait for, and as a last resort
kill, everything the server started; a Ctrl-C in the shell that started it does not reach it.

State, in the server's folder under GREENR_HOME: `<stem>.pid` (the group leader), `<stem>.json`
(its address and command) and `<stem>.log` (what it writes on stdout and stderr: JSON lines, all of
them, or only errors when GREENR_LOG_DIR is set; the server rotates it by size, see
GREENR_OUTPUT_LOG in greenr/settings.py).

A pid file left over from before a reboot may name an unrelated process: a pid counts as ours
only while its command line still contains the spec's `command_mark`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from greenr.supervision.process_group import command_line, stop_group

OUTPUT_LOG_SETTING = "GREENR_OUTPUT_LOG"
NOT_RUNNING = 3
"""Exit status of `status` when the server does not run or does not answer (LSB's "not running")."""


class DaemonError(RuntimeError):
    """A start or stop that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class DaemonSpec:
    """What to run, where it answers, and how long to wait for it."""

    name: str
    state_dir: Path
    command: tuple[str, ...]
    command_mark: str
    # The URL a healthy server answers 200 on, and the address it was asked to serve.
    probe_url: str
    address: str
    port_setting: str
    start_timeout_seconds: float
    grace_seconds: float
    # A line of the log matching this says why a server stopped during start (its own one-line reason).
    reason_pattern: str
    # Files are <state_dir>/<file_stem>.{pid,json,log}.
    file_stem: str = "server"
    cwd: Path | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    # Where its JSON lines go when GREENR_LOG_DIR is set (<dir>/<service>.log); its stdout and
    # stderr then carry errors only, so `first_log_line` looks there too.
    service_log: Path | None = None

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.file_stem}.pid"

    @property
    def record_file(self) -> Path:
        return self.state_dir / f"{self.file_stem}.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.file_stem}.log"


ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")


def local_address(host: str, port: int) -> str:
    """The http URL a server bound to host:port answers on here: an "any address" bind still
    answers on the loopback address."""
    return f"http://{'127.0.0.1' if host in ANY_ADDRESS else host}:{port}"


def running_pid(spec: DaemonSpec) -> int | None:
    """The pid of our running server, or None (no pid file, the process is gone, or not ours)."""
    try:
        pid = int(spec.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if spec.command_mark in command_line(pid) else None


def recorded(spec: DaemonSpec, key: str) -> str | None:
    """What was recorded at start about the running server: its `address` or `probe_url`."""
    try:
        value = json.loads(spec.record_file.read_text())[key]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(value)


def answers(url: str, timeout: float = 5.0) -> str | None:
    """The body of a 200 answer to GET url, or None (refused, another status, no answer in time)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read()
            return body.decode(errors="replace") if response.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def port_in_use(url: str) -> bool:
    """Whether something accepts connections at the URL's host and port."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except (OSError, UnicodeError):  # refused, or a host name that does not resolve (the server says why)
        return False


def start(spec: DaemonSpec, say: Callable[[str], None]) -> int:
    """Start the server unless it runs already at the same address; return once it answers.

    Raises:
        DaemonError: it runs at another address, the port is taken, it stopped during start
            (the message holds its own reason), or it did not answer in time (it is stopped).
    """
    pid = running_pid(spec)
    if pid is not None:
        address = recorded(spec, "address")
        if address != spec.address:
            raise DaemonError(f"it already runs at {address}, not {spec.address}: stop it first")
        say(f"already running (pid {pid}) at {spec.address}")
        return pid
    if port_in_use(spec.probe_url):
        raise DaemonError(f"something else already listens at {spec.address} (set {spec.port_setting})")
    say(f"starting at {spec.address} (log: {spec.log_file})")
    pid = _launch(spec)
    _wait_ready(spec, pid)
    say(f"running (pid {pid}) at {spec.address}")
    return pid


def _launch(spec: DaemonSpec) -> int:
    spec.state_dir.mkdir(parents=True, exist_ok=True)
    environment = {key: value for key, value in os.environ.items() if key not in spec.unset}
    environment.update(spec.environment)
    # The server rotates this file itself (greenr.json_logging.RedirectedOutputHandler), at
    # GREENR_LOG_MAX_BYTES keeping GREENR_LOG_BACKUPS, so it stays bounded however long it runs.
    environment[OUTPUT_LOG_SETTING] = str(spec.log_file)
    with spec.log_file.open("wb") as log, open(os.devnull, "rb") as nothing:
        process = subprocess.Popen(
            spec.command,
            stdin=nothing,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=spec.cwd,
            env=environment,
            start_new_session=True,
        )
    spec.pid_file.write_text(f"{process.pid}\n")
    spec.record_file.write_text(
        json.dumps(
            {
                "address": spec.address,
                "probe_url": spec.probe_url,
                "pid": process.pid,
                "command": list(spec.command),
            }
        )
        + "\n"
    )
    return process.pid


def _wait_ready(spec: DaemonSpec, pid: int) -> None:
    deadline = time.monotonic() + spec.start_timeout_seconds
    while answers(spec.probe_url, timeout=2.0) is None:
        # Not running_pid(): between fork and exec the child's command line is still empty.
        if _exited(pid):
            stop_group(pid, 0, force=True)  # whatever it started before dying goes too
            _forget(spec)
            raise DaemonError(f"it stopped during start; its log ({spec.log_file}) says:\n{_reason(spec)}")
        if time.monotonic() >= deadline:
            stop_group(pid, spec.grace_seconds)
            _forget(spec)
            raise DaemonError(
                f"no answer from {spec.probe_url} after {spec.start_timeout_seconds:g} s: stopped it; "
                f"the end of its log:\n{_tail(spec.log_file)}"
            )
        time.sleep(0.2)


def _exited(pid: int) -> bool:
    # Our child: reap it if it has exited, so that a dead server is not left as a zombie.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not Path(f"/proc/{pid}").exists()
    return finished == pid


def _reason(spec: DaemonSpec) -> str:
    lines = _log_lines(spec.log_file)
    explained = [line for line in lines if re.search(spec.reason_pattern, line)]
    return "\n".join(explained) if explained else "\n".join(lines[-20:])


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(_log_lines(path)[-lines:])


def _log_lines(path: Path) -> list[str]:
    """The log's lines as a person reads them: a JSON line's message (with its traceback, if
    any), any other line as it is."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [readable for line in lines for readable in _readable(line)]


def _readable(line: str) -> list[str]:
    try:
        entry = json.loads(line)
    except ValueError:
        return [line]
    if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
        return [line]
    return [entry["message"], *str(entry.get("exception") or "").splitlines()]


def _forget(spec: DaemonSpec) -> None:
    spec.pid_file.unlink(missing_ok=True)
    spec.record_file.unlink(missing_ok=True)


def stop(spec: DaemonSpec, say: Callable[[str], None]) -> None:
    """Stop the server and wait until every process of its group is gone (idempotent)."""
    pid = running_pid(spec)
    if pid is None:
        say("not running")
        _forget(spec)
        return
    say(f"stopping pid {pid}")
    outcome = stop_group(pid, spec.grace_seconds)
    _forget(spec)
    say(outcome if outcome == "stopped" else f"killed (still running {spec.grace_seconds:g} s after SIGTERM)")


@dataclass(frozen=True)
class Status:
    """What `status` found: the exit status, and the answer of a running server."""

    code: int
    pid: int | None
    address: str | None
    body: str | None


def status(spec: DaemonSpec, say: Callable[[str], None]) -> Status:
    """Whether the server runs and answers at the address it was started on."""
    pid = running_pid(spec)
    if pid is None:
        say("not running")
        return Status(NOT_RUNNING, None, None, None)
    # Where it was started, which may not be where the current environment would start it.
    address = recorded(spec, "address") or spec.address
    body = answers(recorded(spec, "probe_url") or spec.probe_url)
    if body is None:
        say(f"pid {pid} runs but {address} does not answer (log: {spec.log_file})")
        return Status(NOT_RUNNING, pid, address, None)
    return Status(0, pid, address, body)


def first_log_line(spec: DaemonSpec, pattern: str) -> str | None:
    """The first line of the server's log (its output, then its service log) that matches `pattern`."""
    lines = _log_lines(spec.log_file) + (_log_lines(spec.service_log) if spec.service_log else [])
    return next((line for line in lines if re.search(pattern, line)), None)
