"""The FastAPI application: `create_app(settings)` wires routes, errors, middleware and lifespan.

Nothing connects at import or in `create_app`; the lifespan opens the database engine, the
object store and the model server client at start, and closes them at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from greenr.api.access_control import AccessControl, TrustedHosts
from greenr.api.errors import install_error_handlers
from greenr.api.health import check_health
from greenr.api.limits import install_limits
from greenr.api.metrics import ApiMetrics
from greenr.api.middleware import RequestObservation
from greenr.api.rate_limit import RateLimiter
from greenr.api.routes import explanation, feedback, health, history, metrics, model_info, monitoring, predict
from greenr.api.services import ApiServices, close_services, open_services
from greenr.images.decoding import warm_up_decoders
from greenr.settings import Settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
Classifies photos as **dandelion** or **grass** with the model served by the Seldon model server,
records every prediction, takes feedback, and exposes health and Prometheus metrics.

Every endpoint but `/health`, `/health/ready` and `/metrics` needs an API key:
`Authorization: Bearer greenr_<id>_<secret>` (operators: `python -m greenr.api.keys create`).
A `predict` key classifies, sees its own history and labels its own predictions; a `monitor` key
reads `/monitoring/...` only (production activity, drift reports); an `admin` key does everything.
Each key has a rate limit (429 with `Retry-After`).

Every error answers `{"error": {"code": "...", "message": "..."}}`. Every response carries an
`X-Request-ID` header (the caller's, when it sends a valid one), also found in the JSON logs.
"""


def create_app(settings: Settings) -> FastAPI:
    """The API for these settings (the environment is read by the caller, not here)."""
    api_metrics = ApiMetrics(settings.low_confidence_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services: ApiServices = await run_in_threadpool(open_services, settings, api_metrics)
        app.state.services = services
        report = await run_in_threadpool(check_health, services)
        await run_in_threadpool(warm_up_decoders, settings.max_image_pixels)
        logger.info(
            "prediction API started: model server %s %s, database %s",
            settings.model_server,
            "reachable" if report.model_server.reachable else "NOT reachable",
            "reachable" if report.database.reachable else "NOT reachable",
        )
        try:
            yield
        finally:
            await run_in_threadpool(close_services, services)
            logger.info("prediction API stopped")

    app = FastAPI(
        title="greenr prediction API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_limits(app, settings)
    # Outside the limits: a request without a valid key, or over its rate, is refused unread and
    # takes no upload slot.
    app.add_middleware(
        AccessControl,
        keys=lambda: app.state.services.keys,
        limiter=RateLimiter(settings.api_rate_per_second, settings.api_rate_burst),
        protect_metrics=settings.api_protect_metrics,
    )
    app.add_middleware(TrustedHosts, allowed_hosts=settings.trusted_hosts)
    # Added last, so outermost: it sees (and ids) every answer, the 413s and 500s included.
    app.add_middleware(RequestObservation, metrics=api_metrics)
    app.include_router(predict.router)
    app.include_router(history.router_for(settings.max_history_offset))
    for module in (explanation, feedback, model_info, monitoring, health, metrics):
        app.include_router(module.router)
    return app
