"""GET /predictions/{id}/explanation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from greenr.api.access import Permission, Principal
from greenr.api.access_control import require
from greenr.api.explanation import explanation_png
from greenr.api.routes import error_responses
from greenr.api.services import Services
from greenr.contracts import Label

router = APIRouter(tags=["predictions"])


@router.get(
    "/predictions/{prediction_id}/explanation",
    response_class=Response,
    summary="What the model looked at: the photo with a Grad-CAM heatmap over it (PNG)",
    description=(
        "The prediction's kept photo, at its size, with the heatmap of the model version that "
        "answered: red where the evidence for the class is, blue where there is none. Drawn on "
        "request by the API from the version's Keras model (not by the model server; predictions "
        "are not slowed), one at a time, and kept for the next time. `label` explains another "
        "class than the one predicted. Same access as GET /predictions: a `predict` key reads its "
        "own predictions' explanations, an admin key any."
    ),
    responses={
        200: {"content": {"image/png": {}}, "description": "the overlay, a PNG of the photo's size"},
        **error_responses(
            {
                401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
                404: "`prediction_not_found`: no prediction of this key has this id; "
                "`photo_not_kept`: its photo was not kept or has expired",
                409: "`no_explainable_model`: the version was trained before training kept its Keras model",
                422: "`invalid_request`: the id is not a UUID or the label not dandelion / grass",
                429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
                503: "`busy` (another explanation is being drawn), `database_unavailable`, "
                "`storage_unavailable` or `registry_unavailable` (with Retry-After)",
            }
        ),
    },
)
def explanation(
    prediction_id: uuid.UUID,
    services: Services,
    caller: Annotated[Principal, Depends(require(Permission.READ_OWN_HISTORY))],
    label: Annotated[
        Label | None, Query(description="The class to explain; the predicted one when absent.")
    ] = None,
) -> Response:
    png = explanation_png(services, caller, str(prediction_id), label)
    return Response(content=png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
