"""Serve the prediction API with uvicorn on GREENR_API_HOST:GREENR_API_PORT (127.0.0.1:8000).

    python -m greenr.api             # scripts/api_server.sh start|stop|status wraps this

One worker per process (scale with replicas); every line it writes is JSON (greenr/json_logging.py),
uvicorn's own included (log_config=None: its records reach our handlers).
"""

from __future__ import annotations

import logging
import sys

import uvicorn
from starlette.types import ASGIApp

from greenr.api.app import create_app
from greenr.api.logging_setup import configure_logging
from greenr.api.read_timeout import protocol_with_header_timeout
from greenr.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("greenr.api")


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """Uvicorn's configuration of the API: address, logging, and the connection-level limits."""
    return uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,  # greenr.api.access logs every request, with its id
        server_header=False,
        timeout_graceful_shutdown=10,
        # README "Security and limits": uvicorn's own limits, and the request-head timeout it
        # lacks; the body read timeouts are middleware (greenr.api.read_timeout).
        http=protocol_with_header_timeout(settings.header_read_timeout_seconds),
        timeout_keep_alive=settings.keep_alive_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        limit_concurrency=settings.max_connections,
    )


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        # A JSON line like every other (no log folder is known yet); the daemon shows its message.
        configure_logging()
        logger.error("greenr-api: error: %s", error)
        return 1
    configure_logging(
        log_dir=settings.log_dir,
        max_bytes=settings.log_max_bytes,
        backups=settings.log_backups,
        output_log=settings.output_log,
    )
    uvicorn.Server(server_config(create_app(settings), settings)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
