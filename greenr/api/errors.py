"""One JSON error shape for every failure: `{"error": {"code": str, "message": str}}`.

Routes raise `ApiError`; FastAPI's validation errors and Starlette's HTTP errors (unknown route,
wrong method, unparsable multipart body) are mapped into the same shape here. Unexpected
exceptions never reach this module: `middleware.RequestObservation` answers them with a 500 in
this shape, so no traceback ever reaches a client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from greenr.contracts import LABELS

_LABEL_CHOICES = " | ".join(f'"{label}"' for label in LABELS)


@dataclass(frozen=True)
class Problem:
    """What went wrong, as the client sees it: HTTP status, machine-readable code, one sentence."""

    status: int
    code: str
    message: str

    def body(self) -> dict[str, dict[str, str]]:
        return error_body(self.code, self.message)


class ApiError(Exception):
    """Raised by the API's logic; answered with `problem.status` and the error shape."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


# A request whose client left before the answer: nobody reads it, the logs and metrics do.
CLIENT_GONE = Problem(
    499, "client_closed_request", "the client closed the connection: the request was abandoned"
)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


def error_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status)


# Codes of the HTTP errors Starlette raises itself (routing, body parsing).
_HTTP_CODES = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def validation_message(errors: Sequence[Any]) -> str:
    """FastAPI's validation errors as one sentence: `where: what; where: what`."""
    parts = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)] or ["body"]
        where = ".".join(loc)
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "missing" and loc == ["files"]:
            message = 'no file sent: upload one or more images as multipart form field "files"'
        elif error.get("type") == "missing" and len(loc) == 1 and loc[0] in ("prediction_id", "label"):
            message = f'field required: send JSON {{"prediction_id": "<uuid>", "label": {_LABEL_CHOICES}}}'
        elif error.get("type") == "uuid_parsing":
            message = "not a UUID: send an id returned by POST /predict"
        elif error.get("type") == "json_invalid":
            where, message = "body", f"the body is not valid JSON ({error.get('ctx', {}).get('error', '')})"
        parts.append(f"{where}: {message}")
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Map ApiError, validation errors and Starlette's HTTP errors into the one error shape."""

    async def on_api_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.problem)

    async def on_validation_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return error_response(Problem(422, "invalid_request", validation_message(error.errors())))

    async def on_http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400 and isinstance(error.__cause__, ClientDisconnect):
            # FastAPI reports a client that left while its body streamed in as a parse error;
            # it is an abandoned request (499), not a malformed one.
            return error_response(CLIENT_GONE)
        code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        detail = error.detail if isinstance(error.detail, str) else "the request cannot be served"
        message = {
            404: "no such endpoint: see /docs for the API",
            405: "this endpoint does not accept that method: see /docs for the API",
        }.get(error.status_code, detail)
        if error.status_code == 400:
            message = f"the request body cannot be parsed ({detail}): send multipart/form-data or JSON"
        response = error_response(Problem(error.status_code, code, message))
        if error.headers:
            response.headers.update(error.headers)
        return response

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
