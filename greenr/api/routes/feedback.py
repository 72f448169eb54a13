"""POST /feedback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Response

from greenr.api.access import Permission, Principal
from greenr.api.access_control import require
from greenr.api.feedback import forward_feedback, record_feedback
from greenr.api.routes import error_responses
from greenr.api.schemas import FeedbackRequest, FeedbackResponse
from greenr.api.services import Services

router = APIRouter(tags=["feedback"])


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackResponse,
    summary="Say what a classified photo really shows",
    description=(
        "One answer per prediction and key: 201 for the first, 200 when it replaces the key's "
        "earlier answer (the same answer again changes nothing and returns the first one). "
        "A `predict` key answers on its own predictions only; an admin key on any "
        "(relabelling). The label is `dandelion`, `grass` or `neither` (the photo shows neither). "
        "Recorded in the catalog; the image is filed under `feedback/<label>/` in the object store for "
        "retraining (under one label at most), or, for `neither`, under `open-set/neither/` (kept to "
        "calibrate open-set rejection, never training data for a class); the model server is told "
        "(best effort, after the answer)."
    ),
    responses={
        200: {"model": FeedbackResponse, "description": "the key's earlier answer was replaced"},
        **error_responses(
            {
                400: "`malformed_request`: the body cannot be decoded (not UTF-8)",
                401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
                404: "`prediction_not_found`: no prediction of this key has this id",
                408: "`request_timeout`: the body did not arrive in time",
                413: "`request_too_large`: over GREENR_MAX_JSON_BODY_BYTES",
                422: "`invalid_request`: not a UUID, a label not dandelion / grass / neither, or JSON nested "
                "too deep",
                429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
                503: "`database_unavailable` (with Retry-After)",
            }
        ),
    },
)
def feedback(
    body: FeedbackRequest,
    services: Services,
    background: BackgroundTasks,
    response: Response,
    caller: Annotated[Principal, Depends(require(Permission.FEEDBACK_OWN))],
) -> FeedbackResponse:
    recorded = record_feedback(body, caller, services)
    if recorded.replaced:
        response.status_code = 200
    if recorded.changed:
        background.add_task(
            forward_feedback, services.model, services.metrics, recorded.prediction.label, body.label
        )
    return recorded.answer
