"""GET /predictions: a page of the prediction history."""

from __future__ import annotations

from greenr.api.open_set_view import open_set_info, reason
from greenr.api.prediction import database_unavailable
from greenr.api.schemas import HistoryItem, HistoryResponse
from greenr.api.services import ApiServices
from greenr.catalog.database import CatalogUnavailable


def list_history(services: ApiServices, limit: int, offset: int, owner: str | None) -> HistoryResponse:
    """Predictions newest first (of the key `owner`, or all), each with the latest feedback label."""
    try:
        page, total = services.store.history(limit, offset, owner)
    except CatalogUnavailable as error:
        raise database_unavailable(error) from None
    items = [
        HistoryItem(
            id=item.prediction.id,
            created_at=item.prediction.created_at,
            filename=item.prediction.filename,
            sha256=item.prediction.sha256,
            label=item.prediction.label,
            probabilities=item.prediction.probabilities,
            confidence=item.prediction.confidence,
            model_version=item.prediction.model_version,
            latency_ms=item.prediction.latency_ms,
            open_set=open_set_info(item.prediction),
            reason=reason(item.prediction),
            feedback_label=item.feedback_label,
        )
        for item in page
    ]
    return HistoryResponse(items=items, total=total, limit=limit, offset=offset)
