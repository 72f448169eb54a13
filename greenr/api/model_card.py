"""GET /model/card: the served version's model card (markdown), as training wrote it."""

from __future__ import annotations

import logging

from greenr.api.errors import ApiError, Problem
from greenr.api.model_client import ModelServerUnavailable
from greenr.api.prediction import unavailable
from greenr.api.services import ApiServices
from greenr.contracts import MODEL_CARD_FILE, artifact_prefix
from greenr.storage.object_store import StorageUnavailable

logger = logging.getLogger(__name__)


def served_model_card(services: ApiServices) -> str:
    """The card published next to the served version's model.onnx.

    Raises:
        ApiError: 503 when the model server or the object store cannot be reached; 404 when the
            served version was published without a card (trained before cards existed).
    """
    try:
        info = services.model.info()
    except ModelServerUnavailable as error:
        services.metrics.observe_model_server_error(error.kind)
        raise unavailable(error) from None
    key = f"{artifact_prefix(info.name, info.version)}/{MODEL_CARD_FILE}"
    try:
        return services.objects.get(key).decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise ApiError(
            Problem(
                404,
                "model_card_not_found",
                f"{info.name} version {info.version} was published without a model card (trained before "
                "cards existed): train a new version (python run.py --pipeline training) and deploy it",
            )
        ) from None
    except StorageUnavailable as error:
        logger.error("object store unavailable: %s", error)
        raise ApiError(
            Problem(
                503,
                "storage_unavailable",
                "the object store is unavailable, the model card cannot be read: try again in a moment; "
                "operators: check GREENR_LAKE_URI and scripts/services.sh status",
            )
        ) from None
