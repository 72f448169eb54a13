"""The API's JSON log lines (the shape is greenr/json_logging.py's, shared by every service).

`request_id` is a context variable set by `middleware.RequestObservation` for the duration of a
request; FastAPI copies the context into the threads that run sync routes and background tasks,
so every line logged while serving a request carries its id.
"""

from __future__ import annotations

import logging
from pathlib import Path

from greenr.json_logging import JsonFormatter, configure_json_logging, request_id

__all__ = ["JsonFormatter", "configure_logging", "request_id"]


def configure_logging(
    level: str = "INFO",
    log_dir: Path | None = None,
    max_bytes: int = 10_000_000,
    backups: int = 5,
    output_log: Path | None = None,
) -> None:
    """Send every logger's records (ours, uvicorn's) to stderr as JSON lines (and to a rotated file)."""
    configure_json_logging("api", level, log_dir, max_bytes, backups, output_log)
    # httpcore (the model-server client) traces every call at DEBUG: kept out of the log even when
    # the API logs at DEBUG; our access and warning lines say what matters.
    logging.getLogger("httpcore").setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print plain text; let its records reach ours instead.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
