"""GET /model/info."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from greenr.api.access import Permission, Principal
from greenr.api.access_control import require
from greenr.api.model_info import describe_model
from greenr.api.routes import error_responses
from greenr.api.schemas import ModelInfoResponse
from greenr.api.services import Services

router = APIRouter(tags=["model"])


@router.get(
    "/model/info",
    response_model=ModelInfoResponse,
    summary="The served model: name, version, alias, labels; test metrics and dataset version for admin keys",
    responses=error_responses(
        {
            401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
            429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
            503: "`model_server_unavailable`",
        }
    ),
)
def model_info(
    services: Services, caller: Annotated[Principal, Depends(require(Permission.READ_MODEL))]
) -> ModelInfoResponse:
    return describe_model(services, details=caller.can(Permission.READ_MODEL_DETAILS))
