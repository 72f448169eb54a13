"""GET /predictions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from greenr.api.access import Permission, Principal, history_owner
from greenr.api.access_control import require
from greenr.api.history import list_history
from greenr.api.limits import MAX_OFFSET, MAX_PAGE_SIZE
from greenr.api.routes import error_responses
from greenr.api.schemas import HistoryResponse
from greenr.api.services import Services

router = APIRouter(tags=["predictions"])


@router.get(
    "/predictions",
    response_model=HistoryResponse,
    summary="Past predictions, newest first: the key's own (admin keys: all)",
    responses=error_responses(
        {
            401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
            429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
            422: f"`invalid_request`: limit not in 1..{MAX_PAGE_SIZE} or offset not in 0..{MAX_OFFSET}",
            503: "`database_unavailable`",
        }
    ),
)
def predictions(
    services: Services,
    caller: Annotated[Principal, Depends(require(Permission.READ_OWN_HISTORY))],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> HistoryResponse:
    return list_history(services, limit, offset, history_owner(caller))
