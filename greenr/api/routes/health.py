"""GET /health (liveness, with readiness in the body) and GET /health/ready (readiness probe)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from greenr.api.health import check_health
from greenr.api.schemas import HealthResponse
from greenr.api.services import Services

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Liveness: always 200 while the process answers; readiness is in the body",
)
def health(services: Services) -> HealthResponse:
    return check_health(services)


@router.get(
    "/health/ready",
    response_model=HealthResponse,
    summary="Readiness probe: 200 when the model server and the database answer, 503 otherwise",
    responses={503: {"model": HealthResponse, "description": "not ready (same body)"}},
)
def ready(services: Services) -> JSONResponse:
    report = check_health(services)
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.ready else 503)
