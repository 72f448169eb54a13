"""The local model server: Seldon's REST protocol as a WSGI app for gunicorn on 127.0.0.1.

`seldon-core-microservice` always binds 0.0.0.0 (REST 9000, gRPC 5000, metrics 6100), which the
local stack must not do. `seldon_core.wrapper.get_rest_microservice` returns the Flask app of the
very same REST protocol (/api/v1.0/predictions, /api/v1.0/feedback, /health/ping,
/health/status, /metadata); gunicorn hosts it where we choose. Seldon's separate metrics port is
folded into the same app as GET /metrics.

    gunicorn --bind 127.0.0.1:9000 --chdir <repo> 'serving.wsgi:create_app()'

(scripts/model_server.sh does this.) Nothing happens on import: gunicorn calls `create_app()` in
its worker, after forking, so the onnxruntime session and SeldonMetrics' helper process belong to
the worker, and gunicorn's SIGTERM handling shuts both down.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from seldon_core.metrics import SeldonMetrics
from seldon_core.wrapper import get_rest_microservice

from serving.config import ConfigError
from serving.greenr_model import GreenrModel
from serving.model_store import ArtifactError, ModelUnavailableError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
# gunicorn's exit code for "worker failed to boot": the master then stops instead of respawning
# a worker that would fail the same way forever.
WORKER_BOOT_ERROR = 3

logger = logging.getLogger(__name__)


class ThreadSafeSeldonMetrics(SeldonMetrics):  # type: ignore[misc]  # seldon_core is untyped
    """SeldonMetrics whose `update` is atomic across the threads of one worker.

    Seldon's `update` reads the worker's metrics from its manager, changes them and writes them
    back in two separately locked steps, so concurrent requests in gthread workers overwrite each
    other's counts (measured: 11 of 24 concurrent predictions counted). Workers do not race each
    other: each writes only its own entry (keyed by pid).
    """

    def __init__(self) -> None:
        super().__init__()
        self._update_lock = threading.Lock()

    def update(self, custom_metrics: list[dict[str, Any]], method: str) -> None:
        with self._update_lock:
            super().update(custom_metrics, method)


def create_app() -> Any:
    """Load the model (failing with a clear message when it cannot) and build the Flask app."""
    logging.basicConfig(level=os.environ.get("GREENR_LOG_LEVEL", "INFO").upper(), format=LOG_FORMAT)
    try:
        model = GreenrModel()
        # Before the app exists: a missing model must stop the server, not answer 500s later.
        model.load()
    except (ConfigError, ModelUnavailableError, ArtifactError) as error:
        # One line that scripts/model_server.sh shows, instead of a traceback.
        logger.critical("model server cannot start: %s", error)
        raise SystemExit(WORKER_BOOT_ERROR) from None
    seldon_metrics = ThreadSafeSeldonMetrics()
    app = get_rest_microservice(model, seldon_metrics)

    def prometheus_metrics() -> tuple[str, int, dict[str, str]]:
        body, content_type = seldon_metrics.generate_metrics()
        return body, 200, {"Content-Type": content_type}

    app.add_url_rule("/metrics", "greenr_prometheus_metrics", prometheus_metrics, methods=["GET"])
    return app
