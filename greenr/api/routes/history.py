"""GET /predictions.

No `from __future__ import annotations` here: FastAPI resolves the route's annotations after
`router_for` returns, and a string annotation cannot see its local `max_offset`.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from greenr.api.access import Permission, Principal, history_owner
from greenr.api.access_control import require
from greenr.api.history import list_history
from greenr.api.limits import MAX_PAGE_SIZE
from greenr.api.routes import error_responses
from greenr.api.schemas import HistoryResponse
from greenr.api.services import Services


def router_for(max_offset: int) -> APIRouter:
    """The route, its `offset` bounded by `max_offset` (GREENR_MAX_HISTORY_OFFSET) in validation and
    in the OpenAPI schema alike."""
    router = APIRouter(tags=["predictions"])

    @router.get(
        "/predictions",
        response_model=HistoryResponse,
        summary="Past predictions, newest first: the key's own (admin keys: all)",
        responses=error_responses(
            {
                401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
                429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
                422: f"`invalid_request`: limit not in 1..{MAX_PAGE_SIZE} or offset not in 0..{max_offset}",
                503: "`database_unavailable`",
            }
        ),
    )
    def predictions(
        services: Services,
        caller: Annotated[Principal, Depends(require(Permission.READ_OWN_HISTORY))],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = 50,
        offset: Annotated[int, Query(ge=0, le=max_offset, description="Items to skip.")] = 0,
    ) -> HistoryResponse:
        return list_history(services, limit, offset, history_owner(caller))

    return router
