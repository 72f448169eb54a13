"""GET /metrics (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from greenr.api.services import Services

router = APIRouter(tags=["monitoring"])


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics: latency and requests by route, predictions by class, confidence, model "
    "version, model-server errors, feedback",
)
def metrics(services: Services) -> Response:
    body, content_type = services.metrics.render()
    return Response(content=body, media_type=content_type)
