"""`GreenrSeldonModel`: GreenrModel as the container runs it, with the local server's observation.

    python -m serving.seldon_launcher serving.seldon_entry.GreenrSeldonModel --service-type MODEL

(serving/Dockerfile's command: Seldon's launcher, `seldon-core-microservice`, with JSON logging set
up first, serving/seldon_launcher.py). Seldon's launcher builds its Flask app itself and serves only
Seldon's custom metrics on its metrics port (6000), so without this the container would export
none of the `greenr_model_server_*` series (requests by status, latency, model info, fallback,
test accuracy) that the alert rules and dashboards read. The launcher has no
hook between building the app and serving it: constructing this class (the launcher does that
first, in its main process) wraps `seldon_core.wrapper.get_rest_microservice`, which the launcher
calls next, so the app it builds gets `serving.observation.observe`, exactly as the local server's
(serving/wsgi.py): request ids, JSON access lines, the server's metrics, and GET /metrics on the
REST port (9000) with Seldon's custom metrics and the server's own. Prometheus scrapes that page.
The metrics live in the worker's memory: run one worker (Seldon's default, GUNICORN_WORKERS=1).
"""

from __future__ import annotations

import logging
from typing import Any

import seldon_core.wrapper

from greenr.json_logging import JsonFormatter
from serving.greenr_model import GreenrModel
from serving.observation import observe
from serving.server_logging import configure_server_logging
from serving.server_metrics import ServerMetrics

logger = logging.getLogger(__name__)


class GreenrSeldonModel(GreenrModel):
    """GreenrModel whose Seldon app is observed like the local server's (see the module doc)."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        # The same JSON set-up as serving/seldon_launcher.py's, with a formatter of our own: `load`
        # (in the worker, which inherits these handlers when it forks) names the served version.
        self._formatter: JsonFormatter = configure_server_logging()
        self._server_metrics = ServerMetrics()
        _observe_the_app_seldon_builds(self._server_metrics)

    def load(self) -> None:
        """Load the model (in the worker), then say which one in the metrics and every log line."""
        super().load()
        identity = self.identity()
        self._formatter.default_model_version = identity["version"]
        self._server_metrics.set_model(**identity)


def _observe_the_app_seldon_builds(server_metrics: ServerMetrics) -> None:
    build = seldon_core.wrapper.get_rest_microservice
    if getattr(build, "greenr_observed", False):
        return

    def build_observed(user_model: Any, seldon_metrics: Any) -> Any:
        app = build(user_model, seldon_metrics)
        observe(app, seldon_metrics, server_metrics)
        logger.info("model server: request ids, access lines and GET /metrics added to Seldon's app")
        return app

    build_observed.greenr_observed = True  # type: ignore[attr-defined]
    seldon_core.wrapper.get_rest_microservice = build_observed
