"""The local model server: Seldon's REST protocol as a WSGI app for gunicorn on 127.0.0.1.

`seldon-core-microservice` always binds 0.0.0.0 (REST 9000, gRPC 5000, metrics 6100), which the
local stack must not do. `seldon_core.wrapper.get_rest_microservice` returns the Flask app of the
very same REST protocol (/api/v1.0/predictions, /api/v1.0/feedback, /health/ping,
/health/status, /metadata); gunicorn hosts it where we choose. Seldon's separate metrics port is
folded into the same app as GET /metrics.

    gunicorn --bind 127.0.0.1:9000 --chdir <repo> 'serving.wsgi:create_app()'

(the local deployer's service, greenr/deployment/model_server_service.py, does this.) Nothing
happens on import: gunicorn calls `create_app()` in its worker, after forking, so the onnxruntime
session belongs to the worker, and gunicorn's SIGTERM handling shuts it down. It must run with
one worker: the metrics live in that worker's memory.
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
from serving.observation import observe
from serving.server_logging import configure_server_logging
from serving.server_metrics import ServerMetrics

# gunicorn's exit code for "worker failed to boot": the master then stops instead of respawning
# a worker that would fail the same way forever.
WORKER_BOOT_ERROR = 3

logger = logging.getLogger(__name__)


class InProcessSeldonMetrics(SeldonMetrics):  # type: ignore[misc]  # seldon_core is untyped
    """Seldon's metrics, kept in the worker's own memory and updated atomically across its threads.

    Seldon's SeldonMetrics keeps each worker's metrics in a multiprocessing manager (a separate
    ~100 MB process, and two IPC round trips per request) so that several worker processes can
    report together. The local server runs exactly one worker (the local deployer's service), so
    a dict guarded by a lock does the same job; Seldon's own collection and exposition code runs
    unchanged on it. Seldon's `update` is also a read-modify-write in two separately locked
    steps, and with gthread workers concurrent requests overwrote each other's counts (measured:
    11 of 24 concurrent predictions counted); `update` here holds one lock for the whole step.
    """

    def __init__(self) -> None:  # not super().__init__(): that starts the manager process
        self._manager = None
        self._lock = threading.Lock()  # Seldon's code takes it around each read and write
        self._update_lock = threading.Lock()
        self.data: dict[int, dict[Any, Any]] = {}
        self.worker_id_func = os.getpid
        self._extra_default_labels: dict[str, str] = {}

    def __del__(self) -> None:  # Seldon's would shut down the manager this class never starts
        pass

    def update(self, custom_metrics: list[dict[str, Any]], method: str) -> None:
        with self._update_lock:
            super().update(custom_metrics, method)


def create_app() -> Any:
    """Load the model (failing with a clear message when it cannot) and build the Flask app."""
    formatter = configure_server_logging()
    try:
        model = GreenrModel()
        # Before the app exists: a missing model must stop the server, not answer 500s later.
        model.load()
    except (ConfigError, ModelUnavailableError, ArtifactError) as error:
        # One line that the local deployer shows as the reason, instead of a traceback.
        logger.critical("model server cannot start: %s", error)
        raise SystemExit(WORKER_BOOT_ERROR) from None
    seldon_metrics = InProcessSeldonMetrics()
    app = get_rest_microservice(model, seldon_metrics)
    identity = model.identity()
    # Every line of this worker names the version it serves (the fallback's, when it fell back).
    formatter.default_model_version = identity["version"]
    server_metrics = ServerMetrics()
    server_metrics.set_model(**identity)
    observe(app, seldon_metrics, server_metrics)
    return app
