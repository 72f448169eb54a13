"""GET /model/info."""

from __future__ import annotations

from fastapi import APIRouter

from greenr.api.model_info import describe_model
from greenr.api.routes import error_responses
from greenr.api.schemas import ModelInfoResponse
from greenr.api.services import Services

router = APIRouter(tags=["model"])


@router.get(
    "/model/info",
    response_model=ModelInfoResponse,
    summary="The served model: name, version, alias, labels, test metrics, dataset version",
    responses=error_responses({503: "`model_server_unavailable`"}),
)
def model_info(services: Services) -> ModelInfoResponse:
    return describe_model(services)
