"""GET /model/info: the served model, as the model server's /metadata describes it."""

from __future__ import annotations

from greenr.api.model_client import ModelServerUnavailable
from greenr.api.prediction import unavailable
from greenr.api.schemas import ModelInfoResponse
from greenr.api.services import ApiServices


def describe_model(services: ApiServices, details: bool) -> ModelInfoResponse:
    """The served model; test metrics, dataset version and export time only with `details` (admins)."""
    try:
        info = services.model.info()
    except ModelServerUnavailable as error:
        services.metrics.observe_model_server_error(error.kind)
        raise unavailable(error) from None
    services.metrics.set_model(info.name, info.version)
    return ModelInfoResponse(
        name=info.name,
        version=info.version,
        alias=info.alias,
        labels=info.labels,
        metrics=info.metrics if details else None,
        dataset_version=info.dataset_version if details else None,
        exported_at=info.exported_at if details else None,
        fallback=info.fallback,
    )
