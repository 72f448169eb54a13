"""The model server's JSON logging, set up from GREENR_LOG_LEVEL and GREENR_LOG_* the same way by
every process that runs it: the local server's gunicorn logger and app, the image's launcher and
its Seldon model class (greenr/json_logging.py says where the lines go)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from greenr.json_logging import JsonFormatter, configure_json_logging
from serving.config import log_settings

SERVICE = "model-server"


def configure_server_logging(env: Mapping[str, str] = os.environ) -> JsonFormatter:
    """Configure the root logger for the model server; the formatter, to name the served version."""
    log_dir, max_bytes, backups = log_settings(env)
    return configure_json_logging(SERVICE, env.get("GREENR_LOG_LEVEL", "INFO"), log_dir, max_bytes, backups)
