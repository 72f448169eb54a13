"""Typed async client of the prediction API: the web app's only way to reach the model.

Every failure becomes one of two exceptions whose `message` is one line the page shows as is:

- `ApiUnavailable`: the API cannot answer now (connection refused, timeout, 502/503/504, for
  example `model_server_unavailable`). The page says so and offers Retry.
- `ApiError`: the API answered this request with an error (file too large, unknown prediction,
  ...) or with a body that does not follow the contract.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from greenr.json_logging import REQUEST_ID_HEADER, request_id
from ui.monitoring_models import DriftReport, MonitoringSummary

logger = logging.getLogger(__name__)

# Statuses that mean "not now" rather than "not this request": a gateway or the API itself says
# the service behind it is down, or the web app's key is over its rate limit (429), so retrying
# later may work.
_UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})

BodyT = TypeVar("BodyT", bound=BaseModel)
_PREDICTING = "classify photos"
_MONITORING = "show the monitoring data"
_EXPLAINING = "show what the model looked at"
# The first explanation after the API starts loads TensorFlow and the version's Keras model
# (tens of seconds on a busy 2-core machine); later ones take about a second.
EXPLANATION_READ_SECONDS = 90.0

# A file the API could not classify may carry `"probabilities": null`.
Probabilities = Annotated[dict[str, float], BeforeValidator(lambda value: {} if value is None else value)]


class ApiFailure(Exception):
    """A call to the prediction API failed; `message` is one line meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiUnavailable(ApiFailure):
    """The API is down, too slow, or cannot predict right now (its model server is unavailable)."""


class ApiError(ApiFailure):
    """The API refused this request; `message` is the API's own words (or says the body was odd)."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class _ApiModel(BaseModel):
    # Unknown fields are ignored so that the API can grow without breaking the page; numbers are
    # accepted where the contract says string (a model version may be sent as 3 or "3").
    model_config = ConfigDict(
        extra="ignore", frozen=True, coerce_numbers_to_str=True, protected_namespaces=()
    )


class ErrorDetail(_ApiModel):
    """The `{"code", "message"}` of an error, for a whole request or for one file."""

    code: str
    message: str


class ModelRef(_ApiModel):
    """Which model answered."""

    name: str
    version: str


class Prediction(_ApiModel):
    """One file's result from POST /predict; `error` is set (and the rest may be empty) on failure."""

    id: int | str | None = None
    filename: str
    label: str | None = None
    probabilities: Probabilities = Field(default_factory=dict)
    confidence: float | None = None
    model_version: str | None = None
    latency_ms: float | None = None
    reason: str | None = None
    """Why the answer is "neither" (one sentence); None for a class or from an older API."""
    error: ErrorDetail | None = None


class PredictResponse(_ApiModel):
    """Body of POST /predict."""

    model: ModelRef | None = None
    predictions: list[Prediction]


class HistoryItem(_ApiModel):
    """One stored prediction from GET /predictions."""

    id: int | str
    created_at: datetime | None = None
    filename: str
    sha256: str | None = None
    label: str | None = None
    probabilities: Probabilities = Field(default_factory=dict)
    confidence: float | None = None
    model_version: str | None = None
    latency_ms: float | None = None
    reason: str | None = None
    feedback_label: str | None = None


class HistoryPage(_ApiModel):
    """Body of GET /predictions: one page of the history, newest first."""

    items: list[HistoryItem]
    total: int
    limit: int
    offset: int


class FeedbackResult(_ApiModel):
    """Body of POST /feedback."""

    id: int | str
    prediction_id: int | str
    label: str
    correct: bool | None = None
    created_at: datetime | None = None


class Health(_ApiModel):
    """Body of GET /health."""

    status: str
    ready: bool
    model_server: dict[str, Any] = Field(default_factory=dict)
    database: dict[str, Any] = Field(default_factory=dict)


class ModelInfo(_ApiModel):
    """Body of GET /model/info: the model the API serves."""

    name: str
    version: str
    alias: str | None = None
    labels: list[str] = Field(default_factory=list)
    # Null for a `predict` key: test metrics are for admin keys.
    metrics: Annotated[dict[str, Any], BeforeValidator(lambda value: {} if value is None else value)] = Field(
        default_factory=dict
    )
    dataset_version: str | None = None


class _ErrorBody(_ApiModel):
    error: ErrorDetail


@dataclass(frozen=True)
class UploadedFile:
    """A file to send to POST /predict."""

    name: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class ApiTimeouts:
    """Seconds to wait for the API: to connect, for a plain call, and for POST /predict."""

    connect: float = 3.0
    read: float = 10.0
    # A batch of photos is decoded and classified before the answer starts.
    predict: float = 60.0


class ApiClient:
    """Calls the prediction API at `base_url`; each method raises only `ApiFailure` subclasses."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeouts: ApiTimeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        key_setting: str = "GREENR_UI_API_KEY",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Named in the message of a 401: the setting an operator must fix.
        self.key_setting = key_setting
        # Sent as `Authorization: Bearer`; this client runs in the web app's server, never in a browser.
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeouts = timeouts or ApiTimeouts()
        self._transport = transport

    async def predict(self, files: Sequence[UploadedFile]) -> PredictResponse:
        """Classify one or many files (multipart field `files`)."""
        multipart = [("files", (file.name, file.content, file.content_type)) for file in files]
        response = await self._send("POST", "/predict", read_timeout=self.timeouts.predict, files=multipart)
        return self._parse(response, PredictResponse)

    async def predictions(self, *, limit: int, offset: int) -> HistoryPage:
        """One page of the stored predictions."""
        response = await self._send("GET", "/predictions", params={"limit": limit, "offset": offset})
        return self._parse(response, HistoryPage)

    async def feedback(self, prediction_id: int | str, label: str) -> FeedbackResult:
        """Record the true label of a stored prediction."""
        payload = {"prediction_id": prediction_id, "label": label}
        response = await self._send("POST", "/feedback", json=payload)
        return self._parse(response, FeedbackResult)

    async def health(self) -> Health:
        """The API's health; a 503 that still carries a health body means "up but not ready"."""
        response = await self._send("GET", "/health")
        if response.status_code == 503:
            try:
                return Health.model_validate_json(response.content)
            except ValidationError:
                pass  # not a health body: fall through to the usual 503 handling
        return self._parse(response, Health)

    async def model_info(self) -> ModelInfo:
        """Name, version and labels of the model the API serves."""
        response = await self._send("GET", "/model/info")
        return self._parse(response, ModelInfo)

    async def model_card(self) -> str:
        """The served version's model card (markdown)."""
        response = await self._send("GET", "/model/card")
        self._content(response, doing="show the model card")  # raises the API's error
        return response.text

    async def explanation(self, prediction_id: str) -> bytes:
        """The prediction's photo with the model's heatmap over it (PNG)."""
        response = await self._send(
            "GET",
            f"/predictions/{quote(prediction_id, safe='')}/explanation",
            read_timeout=max(self.timeouts.read, EXPLANATION_READ_SECONDS),
        )
        return self._content(response, doing=_EXPLAINING)

    async def monitoring_summary(self, *, days: int) -> MonitoringSummary:
        """Predictions, confidence, feedback of the last `days` days, and the monitoring runs."""
        response = await self._send("GET", "/monitoring/summary", params={"days": days})
        return self._parse(response, MonitoringSummary, doing=_MONITORING)

    async def drift_report(self, run_id: str) -> DriftReport:
        """The drift report (summary) of one monitoring run."""
        response = await self._send("GET", f"/monitoring/reports/{quote(run_id, safe='')}")
        return self._parse(response, DriftReport, doing=_MONITORING)

    async def drift_report_html(self, run_id: str) -> bytes:
        """The whylogs HTML drift report of one monitoring run."""
        response = await self._send("GET", f"/monitoring/reports/{quote(run_id, safe='')}/drift.html")
        return self._content(response, doing=_MONITORING)

    async def _send(
        self, method: str, path: str, *, read_timeout: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        read = read_timeout if read_timeout is not None else self.timeouts.read
        timeout = httpx.Timeout(read, connect=self.timeouts.connect)
        # One short-lived client per call: a pooled one would have to be closed when its browser
        # tab goes away, and the API is near, so reusing connections would save little.
        # Each call is one request with an id of its own, sent on to the API and the model
        # server and found in all three services' logs.
        rid = uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url, timeout=timeout, transport=self._transport, headers=self._headers
            ) as client:
                response = await client.request(method, path, headers={REQUEST_ID_HEADER: rid}, **kwargs)
            logger.log(
                logging.DEBUG if path == "/health" else logging.INFO,
                "API %s %s answered %d",
                method,
                path,
                response.status_code,
                extra={
                    "method": method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000.0, 2),
                },
            )
            return response
        except httpx.ConnectTimeout:
            raise ApiUnavailable(
                f"The prediction API at {self.base_url} did not accept a connection within "
                f"{self.timeouts.connect:g} s: check that it runs, then retry."
            ) from None
        except httpx.TimeoutException:
            raise ApiUnavailable(
                f"The prediction API at {self.base_url} did not answer within {read:g} s; "
                "it may be overloaded: try again in a moment."
            ) from None
        except httpx.ConnectError:
            raise ApiUnavailable(
                f"The prediction API at {self.base_url} is not reachable (nothing answers there): "
                "start it, then retry."
            ) from None
        except httpx.HTTPError as error:
            raise ApiUnavailable(
                f"The prediction API at {self.base_url} could not be reached ({type(error).__name__}): "
                "check that it runs, then retry."
            ) from None
        finally:
            request_id.reset(token)

    def _content(self, response: httpx.Response, *, doing: str) -> bytes:
        """The body of a successful answer; the API's error, worded for a person, otherwise."""
        if response.is_success:
            return response.content
        raise failure_from_response(
            response.status_code, response.content, self.base_url, doing=doing, key_setting=self.key_setting
        )

    def _parse(self, response: httpx.Response, model: type[BodyT], *, doing: str = _PREDICTING) -> BodyT:
        if response.is_success:
            try:
                return model.model_validate_json(response.content)
            except ValidationError:
                raise ApiError(
                    f"The prediction API answered {response.request.method} {response.request.url.path} "
                    "with a body this page does not understand (is it a newer version?).",
                    code="unexpected_response",
                    status=response.status_code,
                ) from None
        raise failure_from_response(
            response.status_code, response.content, self.base_url, doing=doing, key_setting=self.key_setting
        )


def failure_from_response(
    status: int,
    body: bytes,
    base_url: str,
    *,
    doing: str = _PREDICTING,
    key_setting: str = "GREENR_UI_API_KEY",
) -> ApiFailure:
    """The exception for an error answer: the API's own message when the body has the error shape.

    `doing`: what the API cannot do now, for a 5xx ("classify photos"); `key_setting`: the
    setting that holds the key, for a 401.
    """
    detail: ErrorDetail | None
    try:
        detail = _ErrorBody.model_validate_json(body).error
    except ValidationError:
        detail = None
    if status in _UNAVAILABLE_STATUSES:
        if detail is not None:  # the API's own reason, which already says what to do
            reason = _one_line(detail.message)
            return ApiUnavailable(f"The prediction API at {base_url} cannot {doing} right now: {reason}")
        return ApiUnavailable(
            f"The prediction API at {base_url} answered HTTP {status}: try again in a moment."
        )
    if status == 401:
        # The API's message addresses a developer; the person at the page can only tell an operator.
        return ApiError(
            f"The web app has no valid key for the prediction API: an operator must set {key_setting} "
            "(or run python -m greenr.api.keys setup-local) and restart the web app.",
            code=detail.code if detail is not None else "unauthorized",
            status=status,
        )
    if detail is not None:
        return ApiError(_one_line(detail.message), code=detail.code, status=status)
    return ApiError(
        f"The prediction API answered HTTP {status} without an error message.",
        code="unexpected_response",
        status=status,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
