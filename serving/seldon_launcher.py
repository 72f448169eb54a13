"""The image's command: Seldon's launcher, with every line it and its processes write as JSON.

    python -m serving.seldon_launcher serving.seldon_entry.GreenrSeldonModel --service-type MODEL

(serving/Dockerfile's CMD; the arguments are `seldon-core-microservice`'s.) Seldon's launcher
(seldon_core.microservice.main, 1.18) starts with `logging.basicConfig` in plain text and runs
its REST and metrics servers as gunicorn applications with a fixed set of options and gunicorn's
plain-text logger: its first lines and gunicorn's were plain text, written before any project
code ran. Here the JSON root logger is configured first (basicConfig then changes nothing), and
Seldon's two gunicorn applications get `serving.gunicorn_logging.RootLogger`, so gunicorn's
records reach that root logger too; then the launcher's own main runs, unchanged. Its processes
(REST server, its worker, metrics server, gRPC server) are forked and inherit the handlers.

Seldon's `start_servers` is replaced by `start_servers_stopping_together`: on SIGTERM (what
`docker stop`, `podman stop` and the kubelet send to the container's first process) the REST
server stops, and then so do the others; with Seldon's own version the launcher waited forever
for its gRPC process, and every stop ended in a SIGKILL after the grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from serving.server_logging import configure_server_logging

GUNICORN_LOGGER = "serving.gunicorn_logging.RootLogger"


def main() -> None:
    """Configure JSON logging, then run `seldon-core-microservice` with this process's arguments."""
    configure_server_logging()
    # Imported only now: importing it imports gunicorn, whose pkg_resources import warns, and
    # that warning must already be a JSON line.
    from seldon_core import microservice

    microservice.UserModelApplication = _with_json_logger(microservice.UserModelApplication)
    microservice.StandaloneApplication = _with_json_logger(microservice.StandaloneApplication)
    microservice.start_servers = start_servers_stopping_together
    microservice.main()


def start_servers_stopping_together(
    rest: Callable[[], None],
    grpc: Callable[[], None] | None,
    custom: Callable[[], None] | None,
    metrics: Callable[[], None] | None,
    stop_timeout: float = 5.0,
) -> None:
    """Seldon's `start_servers` (same arguments), except that the servers stop together.

    The gRPC, custom and metrics servers run in child processes and the REST server (gunicorn,
    which stops gracefully on SIGTERM) in this one. When it returns, for whatever reason, every
    process this one started is sent SIGTERM, then SIGKILL after `stop_timeout` seconds.
    """
    from seldon_core import microservice  # Seldon's choice of multiprocessing library

    # As Seldon does: the gRPC process is not a daemon, because it starts worker processes.
    children = [
        microservice.mp.Process(target=target, daemon=target is not grpc)
        for target in (grpc, custom, metrics)
        if target is not None
    ]
    for child in children:
        child.start()
    try:
        rest()
    finally:
        stop_processes([child.pid for child in children if child.pid is not None], stop_timeout)


def stop_processes(pids: Sequence[int], timeout: float) -> None:
    """SIGTERM to each process and its descendants (gRPC workers are the gRPC process's
    children), then SIGKILL to whichever is still alive after `timeout` seconds."""
    every = [pid for root in pids for pid in (root, *descendants(root))]
    _signal_all(every, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in every):
        time.sleep(0.05)
    _signal_all([pid for pid in every if _alive(pid)], signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, from /proc (Linux: the image's and the cluster's OS)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children_file in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                children = [int(child) for child in children_file.read_text().split()]
            except OSError:  # the task ended while being read
                continue
            found.extend(children)
            pending.extend(children)
    return found


def _signal_all(pids: Sequence[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def _with_json_logger(application: type[Any]) -> type[Any]:
    """Seldon's gunicorn application class, with gunicorn's records sent to the root logger.

    The launcher builds its options in closures and passes no logger class; its application
    classes (seldon_core.gunicorn_utils) copy those options into gunicorn's config in
    `load_config`, the one place a setting can be added.
    """

    class JsonLoggingApplication(application):  # type: ignore[misc]  # seldon_core is untyped
        def load_config(self) -> None:
            super().load_config()
            self.cfg.set("logger_class", GUNICORN_LOGGER)

    JsonLoggingApplication.__name__ = application.__name__
    return JsonLoggingApplication


if __name__ == "__main__":
    main()
