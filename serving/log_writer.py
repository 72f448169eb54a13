"""The one writer of the local model server's log files, however many processes the server runs.

    python -m serving.log_writer SERVICE_LOG COMMAND...

The local deployer's service (greenr/deployment/model_server_service.py) starts gunicorn (a master
and its worker) through this. Why one writer: a RotatingFileHandler rotates by renaming the file
it writes and opening a new one; another process holding the same file open keeps writing to the
renamed file (its lines land in `.1`, out of order, and that file grows past the bound), and two
processes that both rotate rename each other's files. So the server's processes open no log file:
they write their JSON lines to stdout and stderr, one pipe into this process, which alone writes
and rotates, at GREENR_LOG_MAX_BYTES keeping GREENR_LOG_BACKUPS:
- SERVICE_LOG (the ZenML service's service.log): every line; only ERROR and above when
  GREENR_LOG_DIR is set (the start-up reason the deployer shows is one of those);
- GREENR_LOG_DIR/model-server.log, when it is set: every line.
Lines arrive whole and are written whole: a write of up to PIPE_BUF (4096 bytes) to a pipe is
atomic, so the master's and the worker's lines never mix (a longer one, a long traceback, could
mix with a line another process writes at the same instant). A line that is not JSON (a crash in
C code, a print before logging is set up) becomes a JSON line of logger `output`.
The command runs without GREENR_LOG_DIR (its processes then log to stderr only). This process
ignores SIGTERM, SIGINT and SIGHUP: stopping the server (SIGTERM to gunicorn's master) ends it once
every process of the server has closed the pipe and their last lines are written; it exits with
the server's status.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from greenr.json_logging import JsonFormatter, RedirectedOutputHandler, service_handlers
from serving.config import log_settings

SERVICE = "model-server"
USAGE = "usage: python -m serving.log_writer SERVICE_LOG COMMAND...: give the log file and the command to run"
logger = logging.getLogger("serving.log_writer")


class _LineFormatter(JsonFormatter):
    """A JSON line received from the server as it came; anything else as a new JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        line = getattr(record, "json_line", None)
        return line if isinstance(line, str) else super().format(record)


def line_record(raw: bytes) -> logging.LogRecord:
    """The record of one line the server wrote: its own level when it is a JSON line."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    try:
        entry = json.loads(text)
    except ValueError:
        entry = None
    if isinstance(entry, dict):
        level = logging.getLevelName(str(entry.get("level", "INFO")))
        record = logging.LogRecord(
            "server", level if isinstance(level, int) else logging.INFO, "", 0, "%s", (text,), None
        )
        record.json_line = text
        return record
    return logging.LogRecord("output", logging.WARNING, "", 0, "%s", (text,), None)


def open_logs(service_log: Path, log_dir: Path | None, max_bytes: int, backups: int) -> None:
    """Point `logger` at the rotated files (see the module doc)."""
    formatter = _LineFormatter(SERVICE)
    # Each new service.log also becomes this process's stdout and stderr: its own crash lands there.
    output = RedirectedOutputHandler(service_log, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    logger.handlers[:] = service_handlers(output, formatter, SERVICE, log_dir, max_bytes, backups)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def copy_lines(pipe: int) -> None:
    """Write every line read from `pipe` until every writer has closed it."""
    with os.fdopen(pipe, "rb") as lines:
        for raw in lines:
            if raw.strip():
                logger.handle(line_record(raw))


def run(service_log: Path, command: list[str]) -> int:
    """Run `command` with its output through this process's files; its exit status."""
    log_dir, max_bytes, backups = log_settings(os.environ)
    open_logs(service_log, log_dir, max_bytes, backups)
    environment = {name: value for name, value in os.environ.items() if name != "GREENR_LOG_DIR"}
    read_end, write_end = os.pipe()
    try:
        server = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end, env=environment
        )
    except OSError as error:
        os.close(read_end)
        logger.critical("model server cannot start: %s: %s", command[0], error)
        return 1
    finally:
        os.close(write_end)
    # Only now: ignored signals stay ignored across exec, and the server must keep its own.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    copy_lines(read_end)
    status = server.wait()
    if status != 0:
        logger.error("model server: %s exited with status %s", Path(command[0]).name, status)
    return status if status >= 0 else 128 - status


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
