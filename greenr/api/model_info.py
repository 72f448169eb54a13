"""GET /model/info: the served model, as the model server's /metadata describes it."""

from __future__ import annotations

from greenr.api.model_client import ModelServerUnavailable
from greenr.api.prediction import unavailable
from greenr.api.schemas import ModelInfoResponse
from greenr.api.services import ApiServices


def describe_model(services: ApiServices) -> ModelInfoResponse:
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
        metrics=info.metrics,
        dataset_version=info.dataset_version,
        exported_at=info.exported_at,
        fallback=info.fallback,
    )
