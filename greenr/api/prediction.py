"""POST /predict: check every uploaded file, classify the good ones, record them.

Files are checked in order and sent to the model server in calls of at most
`MODEL_CALL_MAX_IMAGES` images / `MODEL_CALL_MAX_BYTES` bytes, so a batch of large files is never
held in memory all at once. A refused file becomes an item with an `error`; when no file at
all could be classified, the request fails with the (first) file's error.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from greenr.api.disconnect import abandoned
from greenr.api.errors import ApiError, Problem
from greenr.api.model_client import ClassScores, ModelServerRejected, ModelServerUnavailable, ServedModel
from greenr.api.open_set_view import open_set_info, reason
from greenr.api.predictions_store import PredictionRow
from greenr.api.schemas import ErrorDetail, ModelRef, PredictionItem, PredictResponse
from greenr.api.services import ApiServices
from greenr.api.uploads import AcceptedImage, IncomingFile, RejectedFile, check_file
from greenr.catalog.database import CatalogUnavailable

logger = logging.getLogger(__name__)

MODEL_CALL_MAX_IMAGES = 32  # the model server accepts 64 (GREENR_MAX_BATCH_SIZE)
MODEL_CALL_MAX_BYTES = 16 * 1024 * 1024


def unavailable(error: ModelServerUnavailable) -> ApiError:
    return ApiError(Problem(503, "model_server_unavailable", str(error)))


def database_unavailable(error: CatalogUnavailable) -> ApiError:
    logger.error("database unavailable: %s", error)
    return ApiError(
        Problem(
            503,
            "database_unavailable",
            "the prediction database is unavailable, nothing was recorded: try again in a moment; "
            "operators: check GREENR_DATABASE_URL and scripts/services.sh status",
        )
    )


def too_many_files(count: int, limit: int) -> ApiError:
    return ApiError(
        Problem(
            413,
            "too_many_files",
            f"{count} files were sent, at most {limit} are accepted per request: "
            "send them in several requests",
        )
    )


def all_rejected(rejected: Sequence[RejectedFile]) -> ApiError:
    """The error of a request none of whose files could be classified."""
    if len(rejected) == 1:
        return ApiError(rejected[0].problem)
    first = rejected[0].problem
    messages = "; ".join(item.problem.message for item in rejected)
    if all(item.problem.code == first.code for item in rejected):
        return ApiError(Problem(first.status, first.code, messages))
    return ApiError(Problem(422, "all_files_rejected", f"no file could be classified: {messages}"))


class _Batch:
    """The outcome of one request, filled in file order."""

    def __init__(self, count: int) -> None:
        self.items: list[PredictionItem | None] = [None] * count
        self.rows: list[PredictionRow] = []
        self.rejected: list[RejectedFile] = []
        self.model: ServedModel | None = None

    def reject(self, index: int, rejected: RejectedFile) -> None:
        self.rejected.append(rejected)
        self.items[index] = PredictionItem(
            id=None,
            filename=rejected.filename,
            label=None,
            probabilities=None,
            confidence=None,
            model_version=None,
            latency_ms=None,
            error=ErrorDetail(code=rejected.problem.code, message=rejected.problem.message),
        )


def predict_files(
    files: Sequence[IncomingFile],
    services: ApiServices,
    api_key_id: str | None = None,
    caller_gone: Callable[[], bool] = lambda: False,
) -> PredictResponse:
    """Classify the uploaded files for the key `api_key_id`; see the module docstring for the rules.

    `caller_gone` is asked before each file and each model-server call: once the client has left,
    the work stops (ApiError 499, nothing recorded).
    """
    settings = services.settings
    if len(files) > settings.max_batch_files:
        raise too_many_files(len(files), settings.max_batch_files)
    batch = _Batch(len(files))
    pending: list[tuple[int, AcceptedImage]] = []
    pixels_left = settings.max_request_pixels
    for index, upload in enumerate(files):
        if caller_gone():
            raise abandoned()
        checked = check_file(
            upload,
            settings.max_upload_bytes,
            settings.max_image_pixels,
            pixels_left,
            services.decodes,
            settings.large_image_pixels,
        )
        if isinstance(checked, RejectedFile):
            services.metrics.observe_rejected_file(checked.problem.code)
            batch.reject(index, checked)
            continue
        pixels_left -= checked.width * checked.height
        pending.append((index, checked))
        if len(pending) >= MODEL_CALL_MAX_IMAGES or sum(i.size for _, i in pending) >= MODEL_CALL_MAX_BYTES:
            if caller_gone():
                raise abandoned()
            _classify(pending, batch, services)
            pending = []
    if pending:
        if caller_gone():
            raise abandoned()
        _classify(pending, batch, services)
    if batch.model is None:
        raise all_rejected(batch.rejected)
    try:
        services.store.record_predictions([replace(row, api_key_id=api_key_id) for row in batch.rows])
    except CatalogUnavailable as error:
        raise database_unavailable(error) from None
    for row in batch.rows:
        services.metrics.observe_prediction(row.label, row.confidence, row.model_version)
    services.metrics.set_model(batch.model.name, batch.model.version)
    items = [item for item in batch.items if item is not None]
    return PredictResponse(
        model=ModelRef(name=batch.model.name, version=batch.model.version), predictions=items
    )


def _classify(images: list[tuple[int, AcceptedImage]], batch: _Batch, services: ApiServices) -> None:
    """One model-server call for the images (one by one if the server refuses the batch)."""
    try:
        answer = services.model.predict([image.data for _, image in images])
    except ModelServerUnavailable as error:
        services.metrics.observe_model_server_error(error.kind)
        raise unavailable(error) from None
    except ModelServerRejected as error:
        services.metrics.observe_model_server_error("rejected")
        if len(images) > 1:
            # The API's checks use the server's decoder, so this is rare: find the image it refuses.
            for one in images:
                _classify([one], batch, services)
            return
        index, image = images[0]
        logger.warning("the model server refused %s: %s", image.filename, error)
        services.metrics.observe_rejected_file("rejected_by_model_server")
        batch.reject(
            index,
            RejectedFile(
                image.filename,
                Problem(
                    422,
                    "rejected_by_model_server",
                    f"{image.filename}: the model server refused the image ({error})",
                ),
            ),
        )
        return
    batch.model = answer.model
    for (index, image), scores in zip(images, answer.predictions, strict=True):
        _record(index, image, scores, answer.model, answer.latency_ms, batch, services)


def prediction_row(
    image: AcceptedImage, scores: ClassScores, model: ServedModel, latency_ms: float, object_key: str | None
) -> PredictionRow:
    """The catalog row of one answered image, with its feature columns and open-set verdict."""
    verdict = scores.open_set
    return PredictionRow(
        id=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        filename=image.filename,
        sha256=image.sha256,
        label=scores.label,
        probabilities=scores.probabilities,
        confidence=scores.confidence,
        model_name=model.name,
        model_version=model.version,
        latency_ms=round(latency_ms, 3),
        object_key=object_key,
        features=scores.features,
        feature_set_version=scores.feature_set_version,
        open_set_score=None if verdict is None else verdict.score,
        open_set_threshold=None if verdict is None else verdict.threshold,
        open_set_method=None if verdict is None else verdict.method,
        open_set_rejected=None if verdict is None else verdict.rejected,
    )


def prediction_item(row: PredictionRow) -> PredictionItem:
    """How the response shows one recorded prediction."""
    return PredictionItem(
        id=row.id,
        filename=row.filename,
        label=row.label,
        probabilities=row.probabilities,
        confidence=row.confidence,
        model_version=row.model_version,
        latency_ms=row.latency_ms,
        open_set=open_set_info(row),
        reason=reason(row),
        error=None,
    )


def _record(
    index: int,
    image: AcceptedImage,
    scores: ClassScores,
    model: ServedModel,
    latency_ms: float,
    batch: _Batch,
    services: ApiServices,
) -> None:
    row = prediction_row(image, scores, model, latency_ms, services.archive.keep(image))
    batch.rows.append(row)
    batch.items[index] = prediction_item(row)
