"""POST /feedback: record a user's true label for a prediction, file its image, tell the model server."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class RecordedFeedback:
    """What POST /feedback did with an answer."""

    answer: FeedbackResponse
    prediction: PredictionRow
    replaced: bool  # the key had answered before (200, not 201)
    changed: bool  # False when the key repeated its current answer: nothing was written or filed


def record_feedback(
    request: FeedbackRequest, principal: Principal, services: ApiServices
) -> RecordedFeedback:
    """Store the key's answer (replacing its earlier one) and refile the image under feedback/.

    A prediction the key may not label is "not found", like an unknown id, so other keys' ids do
    not leak. The same answer sent again (a retry, a double click, a flood) changes nothing: the
    key's first answer, with its time, stands, and it is neither counted nor forwarded again; the
    database decides which write was first, so this holds across API replicas too.
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
            if stored_id is None:  # the key's answer already said this: the first one stands
                earlier = services.store.feedback_of(prediction.id, principal.key_id)
                return RecordedFeedback(_response(earlier or row), prediction, replaced=True, changed=False)
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
    answer = _response(replace(row, id=stored_id))
    return RecordedFeedback(answer, prediction, replaced=stored_id != row.id, changed=True)


def _response(row: FeedbackRow) -> FeedbackResponse:
    return FeedbackResponse(
        id=row.id,
        prediction_id=row.prediction_id,
        label=row.label,
        correct=row.correct,
        created_at=row.created_at,
    )


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
