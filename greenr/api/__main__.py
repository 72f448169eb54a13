"""Serve the prediction API with uvicorn on GREENR_API_HOST:GREENR_API_PORT (127.0.0.1:8000).

    python -m greenr.api             # scripts/api_server.sh start|stop|status wraps this

One worker per process (scale with replicas); logs are JSON lines on stderr.
"""

from __future__ import annotations

import sys

import uvicorn

from greenr.api.app import create_app
from greenr.api.logging_setup import configure_logging
from greenr.settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"greenr-api: error: {error}", file=sys.stderr)
        return 1
    configure_logging(
        log_dir=settings.log_dir, max_bytes=settings.log_max_bytes, backups=settings.log_backups
    )
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,  # greenr.api.access logs every request, with its id
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
