"""GET /predictions/{id}/explanation: the kept photo with the model's Grad-CAM heatmap over it.

Off the prediction path: the model server answers predictions; this runs in the API only when
asked, through `greenr.explain.explainer.Explainer` (TensorFlow and the Keras model loaded on
first use, one explanation at a time). A finished PNG is kept in the object store under
`explanations/<model name>/v<version>/<sha256>-<label>.png`, so the same photo, model and class
are drawn once, whichever replica is asked (and survive restarts).
"""

from __future__ import annotations

import logging
from typing import Final

from greenr.api.access import Principal, history_owner
from greenr.api.errors import ApiError, Problem
from greenr.api.prediction import database_unavailable
from greenr.api.predictions_store import PredictionRow
from greenr.api.services import ApiServices
from greenr.catalog.database import CatalogUnavailable
from greenr.contracts import LABELS
from greenr.explain.explainer import ExplainerBusy
from greenr.explain.keras_source import NoKerasModel
from greenr.images.decoding import ImageDecodeError
from greenr.registry.model_registry import RegistryError
from greenr.storage.object_store import StorageUnavailable

logger = logging.getLogger(__name__)

EXPLANATIONS_PREFIX: Final = "explanations"


def explanation_key(prediction: PredictionRow, label: str) -> str:
    """Where the PNG of this photo, model version and class is kept."""
    version = f"{prediction.model_name}/v{prediction.model_version}"
    return f"{EXPLANATIONS_PREFIX}/{version}/{prediction.sha256}-{label}.png"


def explained_label(prediction: PredictionRow, asked: str | None) -> str:
    """The class to explain: the one asked, else the one the prediction answered."""
    if asked is not None:
        return asked
    if prediction.label in LABELS:
        return prediction.label
    # An answer that is no class of the model (e.g. an open-set "neither"): show its top class.
    return "top"


def explanation_png(
    services: ApiServices, principal: Principal, prediction_id: str, asked: str | None
) -> bytes:
    """The overlay PNG of the prediction's photo (from the store's cache, or drawn now).

    Raises:
        ApiError: 404 unknown id (or another key's prediction) or photo not kept; 409 model
            version without a Keras model; 503 busy, database, object store or registry down.
    """
    prediction = _readable_prediction(services, principal, prediction_id)
    label = explained_label(prediction, asked)
    key = explanation_key(prediction, label)
    try:
        return services.objects.get(key)
    except FileNotFoundError:
        pass
    except StorageUnavailable as error:
        raise _store_unavailable(error) from None
    photo = _kept_photo(services, prediction)
    class_index = LABELS.index(label) if label in LABELS else None
    try:
        png = services.explainer.overlay_png(
            prediction.model_name, prediction.model_version, photo, class_index
        )
    except ExplainerBusy:
        raise ApiError(
            Problem(
                503,
                "busy",
                "another explanation is being drawn (one at a time, so predictions stay fast): "
                "try again in a moment (see the Retry-After header)",
            )
        ) from None
    except NoKerasModel as error:
        raise ApiError(Problem(409, "no_explainable_model", str(error))) from None
    except RegistryError as error:
        logger.error("explanation: the model registry cannot be read: %s", error)
        raise ApiError(
            Problem(
                503,
                "registry_unavailable",
                f"the model registry cannot give the Keras model of {prediction.model_name} version "
                f"{prediction.model_version}: try again in a moment; operators: check MLFLOW_TRACKING_URI "
                "and that the MLflow server runs",
            )
        ) from None
    except ImageDecodeError as error:
        raise ApiError(
            Problem(
                422,
                "photo_unreadable",
                f"the kept photo of prediction {prediction.id} cannot be decoded ({error})",
            )
        ) from None
    try:
        services.objects.put(key, png)
    except StorageUnavailable as error:  # the answer is ready: keeping it is an optimisation
        logger.warning("explanation: could not keep %s: %s", key, error)
    return png


def _readable_prediction(services: ApiServices, principal: Principal, prediction_id: str) -> PredictionRow:
    """The prediction, if the key may read it; 404 as for an unknown id otherwise (ids do not leak)."""
    try:
        prediction = services.store.get_prediction(prediction_id)
    except CatalogUnavailable as error:
        raise database_unavailable(error) from None
    owner = history_owner(principal)
    if prediction is None or (owner is not None and prediction.api_key_id != owner):
        raise ApiError(
            Problem(
                404,
                "prediction_not_found",
                f"no prediction has the id {prediction_id}: send an id that POST /predict returned "
                "to this API key (GET /predictions lists them)",
            )
        )
    return prediction


def _kept_photo(services: ApiServices, prediction: PredictionRow) -> bytes:
    not_kept = ApiError(
        Problem(
            404,
            "photo_not_kept",
            f"the photo of prediction {prediction.id} is not kept (the object store was unavailable "
            "when it was classified, or the photo has expired): classify it again and ask for the "
            "new prediction's explanation",
        )
    )
    if prediction.object_key is None:
        raise not_kept
    try:
        return services.objects.get(prediction.object_key)
    except FileNotFoundError:
        raise not_kept from None
    except StorageUnavailable as error:
        raise _store_unavailable(error) from None


def _store_unavailable(error: StorageUnavailable) -> ApiError:
    logger.error("explanation: object store unavailable: %s", error)
    return ApiError(
        Problem(
            503,
            "storage_unavailable",
            "the object store that keeps the photos is unavailable: try again in a moment; "
            "operators: check GREENR_LAKE_URI and scripts/services.sh status",
        )
    )
