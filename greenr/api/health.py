"""GET /health: is the model server reachable (and which version does it serve), is the database?"""

from __future__ import annotations

from greenr.api.model_client import ModelServerUnavailable
from greenr.api.schemas import DatabaseHealth, HealthResponse, ModelServerHealth
from greenr.api.services import ApiServices


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
    database = DatabaseHealth(reachable=services.store.ping())
    ready = model.reachable and database.reachable
    status = "ok" if ready and not model.fallback else "degraded"
    return HealthResponse(status=status, ready=ready, model_server=model, database=database)
