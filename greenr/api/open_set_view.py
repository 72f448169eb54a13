"""A recorded prediction's open-set block and its "neither" reason, as the responses show them."""

from __future__ import annotations

from greenr.api.open_set_answer import neither_reason
from greenr.api.predictions_store import PredictionRow
from greenr.api.schemas import OpenSetInfo


def open_set_info(row: PredictionRow) -> OpenSetInfo | None:
    """The prediction's open-set verdict; None when it was never scored (older rows and models)."""
    if row.open_set_score is None or row.open_set_method is None or row.open_set_rejected is None:
        return None
    return OpenSetInfo(
        score=row.open_set_score,
        threshold=row.open_set_threshold,
        method=row.open_set_method,
        rejected=row.open_set_rejected,
    )


def reason(row: PredictionRow) -> str | None:
    """Why the prediction answered "neither"; None for a class answer."""
    return neither_reason(row.label, row.open_set_score, row.open_set_threshold)
