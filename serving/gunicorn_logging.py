"""gunicorn's own lines (starting, listening, a worker booting or dying) as JSON lines.

gunicorn's default logger writes plain text to its error log. `JsonLogger` (passed as
`--logger-class serving.gunicorn_logging.JsonLogger` by the local deployer's service) sends its
records to the root logger instead, configured here as in every other service
(greenr/json_logging.py): stderr, or `GREENR_LOG_DIR/model-server.log` rotated. It runs in the
master, so the master's lines are JSON too; the worker inherits it and `serving.wsgi.create_app`
configures the same handlers again with the served model's version.
`RootLogger` only sends gunicorn's records to the root logger the process has already configured:
the image's launcher (serving/seldon_launcher.py) configures it before gunicorn starts.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn import glogging

from serving.server_logging import configure_server_logging


class RootLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's error and access loggers, propagating to the root logger as it is configured."""

    def setup(self, cfg: Any) -> None:
        self.loglevel = self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO)
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True
        self.error_log.setLevel(self.loglevel)
        self.access_log.setLevel(logging.INFO)


class JsonLogger(RootLogger):
    """gunicorn's error and access loggers, propagating to the JSON root logger it configures."""

    def setup(self, cfg: Any) -> None:
        configure_server_logging()
        super().setup(cfg)
