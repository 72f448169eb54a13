"""POST /feedback."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks

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
        "Recorded in the catalog, the image is filed under `feedback/<label>/` in the object store "
        "for retraining, and the model server is told (best effort, after the answer)."
    ),
    responses=error_responses(
        {
            400: "`malformed_request`: the body cannot be decoded (not UTF-8)",
            404: "`prediction_not_found`: no prediction has this id",
            408: "`request_timeout`: the body did not arrive in time",
            413: "`request_too_large`: over GREENR_MAX_JSON_BODY_BYTES",
            422: "`invalid_request`: not a UUID, a label not dandelion / grass, or JSON nested too deep",
            503: "`database_unavailable` (with Retry-After)",
        }
    ),
)
def feedback(body: FeedbackRequest, services: Services, background: BackgroundTasks) -> FeedbackResponse:
    response, prediction = record_feedback(body, services)
    background.add_task(forward_feedback, services.model, services.metrics, prediction.label, body.label)
    return response
