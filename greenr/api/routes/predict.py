"""POST /predict."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from greenr.api.access import Permission, Principal
from greenr.api.access_control import require
from greenr.api.disconnect import watch_disconnect
from greenr.api.prediction import predict_files
from greenr.api.routes import error_responses
from greenr.api.schemas import PredictResponse
from greenr.api.services import Services
from greenr.api.uploads import IncomingFile, clean_filename

router = APIRouter(tags=["predictions"])


@router.post(
    "/predict",
    response_model=PredictResponse,
    summary="Classify one or more photos as dandelion or grass",
    description=(
        "Multipart form, field `files` (repeat it for a batch). Accepted: JPEG, PNG, WebP up to "
        "GREENR_MAX_UPLOAD_BYTES each, at most GREENR_MAX_BATCH_FILES files. In a batch, a refused "
        "file is an item with `error` and the others are classified (200); when no file can be "
        "classified the status is that of the (first) file's error."
    ),
    responses=error_responses(
        {
            400: "`malformed_request`: the multipart body cannot be parsed",
            401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
            408: "`request_timeout`: the body did not arrive in time",
            413: "`file_too_large`, `too_many_files`, `too_many_pixels` or `request_too_large`",
            429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
            415: "`unsupported_media_type`: not a JPEG, PNG or WebP",
            422: "`empty_file`, `not_an_image`, `corrupt_image`, `decompression_bomb`, `all_files_rejected`, "
            "`invalid_request` (no `files` field)",
            503: "`model_server_unavailable`, `database_unavailable` or `busy` (with Retry-After)",
        }
    ),
)
async def predict(
    files: Annotated[list[UploadFile], File(description="The photos (JPEG, PNG or WebP).")],
    services: Services,
    caller: Annotated[Principal, Depends(require(Permission.PREDICT))],
    request: Request,
) -> PredictResponse:
    incoming = [
        IncomingFile(clean_filename(upload.filename, index), upload.content_type, upload.file)
        for index, upload in enumerate(files)
    ]
    # The blocking work (decoding, the model server, the catalog) runs in a worker thread. The
    # route itself is async because FastAPI validates a sync route's answer in a second worker
    # thread hop: ~5 % of the API's CPU per request (py-spy, 2026-11-30).
    async with watch_disconnect(request) as caller_gone:
        return await run_in_threadpool(predict_files, incoming, services, caller.key_id, caller_gone)
