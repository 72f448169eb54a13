"""The one shape of a log line, for every service: one JSON object per line.

    {"time": "...", "level": "INFO", "service": "api", "logger": "...", "message": "...",
     "request_id": "...", "model_version": "3", ...fields given with `extra`}

Standard library only: the API, the web app, the model server (in its own environment) and the
pipelines all import it. `request_id` is a context variable each service sets per request (the
id arrives in the X-Request-ID header and is sent on with every call to the next service), so
every line written while serving a request carries its id. Lines go to stderr (a cluster's
collector reads them there) or, when a log folder is given (GREENR_LOG_DIR), to
`<folder>/<service>.log`, rotated by size so that a long-running local service never fills the disk.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import sys
import threading
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from io import TextIOBase, TextIOWrapper
from pathlib import Path
from types import TracebackType
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
request_id: ContextVar[str | None] = ContextVar("greenr_request_id", default=None)
# Which model answers, where the service knows it (the model server, once loaded).
model_version: ContextVar[str | None] = ContextVar("greenr_model_version", default=None)
# A caller's id is kept only when it is short and plain (it goes into logs and headers).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# LogRecord attributes that are not extra fields given by the caller.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)


def incoming_request_id(header: str | None) -> str:
    """The caller's X-Request-ID when it is valid, else a new id."""
    return header if header and _VALID_REQUEST_ID.fullmatch(header) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, request_id, model_version, extras."""

    def __init__(self, service: str = "greenr", default_model_version: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.default_model_version = default_model_version

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        version = getattr(record, "model_version", None) or model_version.get() or self.default_model_version
        if version is not None:
            entry["model_version"] = version
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RedirectedOutputHandler(logging.handlers.RotatingFileHandler):
    """The file a supervisor sent this process's stdout and stderr to, rotated by size.

    Each file it opens becomes stdout and stderr again (dup2), so whatever bypasses logging (a
    library's print, a crash in C code) lands in the current file and counts toward its size:
    the file, and so the whole set, stays bounded however long the server runs.
    """

    def _open(self) -> TextIOWrapper:
        stream = super()._open()
        # The interpreter's own streams (sys.stdout may be an _OutputAsLog, which logs).
        for output in (sys.__stdout__, sys.__stderr__):
            if output is not None:
                output.flush()
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        return stream


class _OutputAsLog(TextIOBase):
    """sys.stdout or sys.stderr of a process whose output is a log file: each line printed
    becomes a JSON line (logger `stdout` or `stderr`) instead of plain text in the file."""

    encoding = "utf-8"  # read by code that writes to sys.stdout (TextIOBase's is None)

    def __init__(self, name: str, level: int, fd: int) -> None:
        super().__init__()
        self._logger = logging.getLogger(name)
        self._level = level
        self._fd = fd
        self._pending = ""
        self._inside = threading.local()

    def write(self, text: str) -> int:
        if getattr(self._inside, "active", False):
            # logging reporting its own failure: straight to the file, not round again.
            os.write(self._fd, text.encode(errors="replace"))
            return len(text)
        self._inside.active = True
        try:
            *lines, self._pending = (self._pending + text).split("\n")
            for line in lines:
                if line.strip():
                    self._logger.log(self._level, line.rstrip())
        finally:
            self._inside.active = False
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self.write("\n")

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False


def service_handlers(
    stream: logging.Handler,
    formatter: logging.Formatter,
    service: str,
    log_dir: Path | None,
    max_bytes: int,
    backups: int,
) -> list[logging.Handler]:
    """`stream`, plus `<log_dir>/<service>.log` (rotated) when there is a log folder, which then
    leaves `stream` the errors only; every handler formats with `formatter`."""
    handlers: list[logging.Handler] = [stream]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / f"{service}.log", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        )
        # Errors still reach the stream: whatever supervises the process (a start script, the
        # deployer reading why the model server refused to start) sees them there.
        stream.setLevel(logging.ERROR)
    for handler in handlers:
        handler.setFormatter(formatter)
    return handlers


def configure_json_logging(
    service: str,
    level: str = "INFO",
    log_dir: Path | None = None,
    max_bytes: int = 10_000_000,
    backups: int = 5,
    output_log: Path | None = None,
) -> JsonFormatter:
    """Send every logger's records as JSON lines to stderr, or to `<log_dir>/<service>.log` (rotated;
    errors also to stderr).

    `output_log` is the file stdout and stderr were redirected to by whatever started the process
    (greenr.supervision.daemon): it is rotated like the log folder's files instead of growing.
    Uncaught exceptions (main thread and others) and Python warnings become JSON lines too, and,
    with `output_log`, whatever the process prints.
    """
    formatter = JsonFormatter(service)
    stream: logging.Handler
    if output_log is not None:
        stream = RedirectedOutputHandler(
            output_log, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    else:
        stream = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = service_handlers(stream, formatter, service, log_dir, max_bytes, backups)
    root.setLevel(level.upper())
    _log_what_escapes_logging()
    if output_log is not None:
        # Only in a process whose output is that file (never a test runner's or a terminal's).
        sys.stdout = _OutputAsLog("stdout", logging.INFO, 1)
        sys.stderr = _OutputAsLog("stderr", logging.WARNING, 2)
    return formatter


def _log_what_escapes_logging() -> None:
    """A crash's traceback and Python's warnings as JSON lines, not plain text on stderr."""
    crash = logging.getLogger("greenr.crash")

    def uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        crash.critical("uncaught %s: %s", kind.__name__, error, exc_info=(kind, error, trace))

    def uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        crash.critical(
            "uncaught %s in thread %s: %s",
            args.exc_type.__name__,
            args.thread.name if args.thread else "?",
            args.exc_value,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = uncaught
    threading.excepthook = uncaught_in_thread
    logging.captureWarnings(True)


def add_json_log_file(
    service: str, log_dir: Path, level: str = "INFO", max_bytes: int = 10_000_000, backups: int = 5
) -> logging.Handler:
    """Also write the root logger's records to `<log_dir>/<service>.log` as JSON, rotated.

    For the pipelines: ZenML keeps its own console output and step logs; this adds the same
    lines in the shape every service logs in, next to the other services' files.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_dir / f"{service}.log", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(JsonFormatter(service))
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > handler.level:
        root.setLevel(handler.level)
    return handler
