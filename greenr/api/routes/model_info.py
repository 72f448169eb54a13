"""GET /model/info and GET /model/card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from greenr.api.access import Permission, Principal
from greenr.api.access_control import require
from greenr.api.model_card import served_model_card
from greenr.api.model_info import describe_model
from greenr.api.routes import error_responses, json_error_responses
from greenr.api.schemas import MODEL_CARD_PATH, ModelInfoResponse
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


@router.get(
    MODEL_CARD_PATH,
    response_class=PlainTextResponse,
    summary="The served version's model card (markdown): data, training, test metrics with intervals, "
    "calibration, limitations, intended use",
    responses={
        200: {"content": {"text/markdown": {}}, "description": "the card, as training wrote it"},
        **json_error_responses(
            {
                401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
                404: "`model_card_not_found`: the served version was published without a card",
                429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
                503: "`model_server_unavailable` or `storage_unavailable`",
            }
        ),
    },
)
def model_card(
    services: Services, _: Annotated[Principal, Depends(require(Permission.READ_MODEL))]
) -> PlainTextResponse:
    # A card is written for the people who use the model: every key that may see the model reads it.
    return PlainTextResponse(served_model_card(services), media_type="text/markdown; charset=utf-8")
