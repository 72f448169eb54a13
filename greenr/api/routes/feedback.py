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
            404: "`prediction_not_found`: no prediction has this id",
            422: "`invalid_request`: not a UUID, or a label other than dandelion / grass",
            503: "`database_unavailable`",
        }
    ),
)
def feedback(body: FeedbackRequest, services: Services, background: BackgroundTasks) -> FeedbackResponse:
    response, prediction = record_feedback(body, services)
    background.add_task(forward_feedback, services.model, services.metrics, prediction.label, body.label)
    return response
