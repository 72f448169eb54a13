"""GET /health: is the model server reachable (and which version does it serve), is the database?

Ready means a prediction can be answered and recorded: the model server answers and the database
takes a write (a reachable database that is read-only or locked would fail every prediction).
"""

from __future__ import annotations

import logging

from greenr.api.model_client import ModelServerUnavailable
from greenr.api.schemas import DatabaseHealth, HealthResponse, ModelServerHealth
from greenr.api.services import ApiServices

logger = logging.getLogger(__name__)


def check_health(services: ApiServices) -> HealthResponse:
    """Ready when both answer; "ok" when ready and the model server serves its current artifact."""
    try:
        health = services.model.health()
    except ModelServerUnavailable as error:
        services.metrics.observe_model_server_error(error.kind)
        model = ModelServerHealth(reachable=False, model_version=None, fallback=None)
    else:
        model = ModelServerHealth(reachable=True, model_version=health.version, fallback=health.fallback)
        if health.name is not None and health.version is not None:
            services.metrics.set_model(health.name, health.version)
    reachable = services.store.ping()
    refusal = services.store.refuses_writes() if reachable else "unreachable"
    if reachable and refusal is not None:
        logger.warning("the database refuses writes: %s", refusal)
    database = DatabaseHealth(reachable=reachable, writable=refusal is None)
    ready = model.reachable and database.reachable and database.writable
    status = "ok" if ready and not model.fallback else "degraded"
    return HealthResponse(status=status, ready=ready, model_server=model, database=database)
