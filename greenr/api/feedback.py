"""POST /feedback: record a user's true label for a prediction, file its image, tell the model server."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from greenr.api.errors import ApiError, Problem
from greenr.api.metrics import ApiMetrics
from greenr.api.model_client import ModelClient, ModelServerRejected, ModelServerUnavailable
from greenr.api.prediction import database_unavailable
from greenr.api.predictions_store import FeedbackRow, PredictionRow
from greenr.api.schemas import FeedbackRequest, FeedbackResponse
from greenr.api.services import ApiServices
from greenr.catalog.database import CatalogUnavailable

logger = logging.getLogger(__name__)


def record_feedback(
    request: FeedbackRequest, services: ApiServices
) -> tuple[FeedbackResponse, PredictionRow]:
    """Store the feedback row and copy the image under feedback/<label>/; returns the prediction too."""
    prediction_id = str(request.prediction_id)
    try:
        prediction = services.store.get_prediction(prediction_id)
        if prediction is None:
            raise ApiError(
                Problem(
                    404,
                    "prediction_not_found",
                    f"no prediction has the id {prediction_id}: send an id returned by POST /predict",
                )
            )
        row = FeedbackRow(
            id=str(uuid.uuid4()),
            prediction_id=prediction.id,
            label=request.label,
            correct=request.label == prediction.label,
            created_at=datetime.now(UTC),
        )
        services.store.record_feedback(row)
    except CatalogUnavailable as error:
        raise database_unavailable(error) from None
    services.archive.file_feedback(prediction.object_key, row.label)
    services.metrics.observe_feedback(row.label, row.correct)
    logger.info(
        "feedback on %s: predicted %s, truth %s",
        prediction.id,
        prediction.label,
        row.label,
        extra={"prediction_id": prediction.id, "correct": row.correct},
    )
    response = FeedbackResponse(
        id=row.id,
        prediction_id=row.prediction_id,
        label=request.label,
        correct=row.correct,
        created_at=row.created_at,
    )
    return response, prediction


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
