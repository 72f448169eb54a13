"""POST /feedback: record a user's true label for a prediction, file its image, tell the model server."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from greenr.api.access import Principal, may_give_feedback
from greenr.api.errors import ApiError, Problem
from greenr.api.feedback_filing import filed_label
from greenr.api.metrics import ApiMetrics
from greenr.api.model_client import ModelClient, ModelServerRejected, ModelServerUnavailable
from greenr.api.prediction import database_unavailable
from greenr.api.predictions_store import FeedbackRow, PredictionRow
from greenr.api.schemas import FeedbackRequest, FeedbackResponse
from greenr.api.services import ApiServices
from greenr.catalog.database import CatalogUnavailable

logger = logging.getLogger(__name__)


def record_feedback(
    request: FeedbackRequest, principal: Principal, services: ApiServices
) -> tuple[FeedbackResponse, PredictionRow, bool]:
    """Store the key's answer (replacing its earlier one) and refile the image under feedback/.

    Returns the answer, the prediction, and whether an earlier answer was replaced. A prediction
    the key may not label is "not found", like an unknown id, so other keys' ids do not leak.
    """
    prediction_id = str(request.prediction_id)
    try:
        prediction = services.store.get_prediction(prediction_id)
        if prediction is None or not may_give_feedback(principal, prediction.api_key_id):
            raise ApiError(
                Problem(
                    404,
                    "prediction_not_found",
                    f"no prediction has the id {prediction_id}: send an id that POST /predict "
                    "returned to this API key",
                )
            )
        row = FeedbackRow(
            id=str(uuid.uuid4()),
            prediction_id=prediction.id,
            label=request.label,
            correct=request.label == prediction.label,
            created_at=datetime.now(UTC),
            api_key_id=principal.key_id,
        )
        with services.archive.photo_lock(prediction.sha256):
            stored_id = services.store.record_feedback(row)
            filed = filed_label(services.store.feedback_votes(prediction.sha256))
            services.archive.refile(prediction.object_key, filed)
    except CatalogUnavailable as error:
        raise database_unavailable(error) from None
    services.metrics.observe_feedback(row.label, row.correct)
    logger.info(
        "feedback on %s: predicted %s, truth %s, filed under %s",
        prediction.id,
        prediction.label,
        row.label,
        filed,
        extra={"prediction_id": prediction.id, "correct": row.correct, "api_key_id": principal.key_id},
    )
    response = FeedbackResponse(
        id=stored_id,
        prediction_id=row.prediction_id,
        label=request.label,
        correct=row.correct,
        created_at=row.created_at,
    )
    return response, prediction, stored_id != row.id


def forward_feedback(model: ModelClient, metrics: ApiMetrics, predicted: str, truth: str) -> None:
    """Send the feedback to the model server's /api/v1.0/feedback; best effort, failures are logged."""
    try:
        model.send_feedback(predicted, truth)
    except ModelServerUnavailable as error:
        metrics.observe_model_server_error(error.kind)
        logger.warning("feedback not forwarded to the model server: %s", error)
    except ModelServerRejected as error:
        metrics.observe_model_server_error("rejected")
        logger.warning("the model server refused the feedback: %s", error)
