"""A small, real HTTP server that speaks the prediction API's contract, for the web app's tests.

The web app reaches the API over HTTP only, so its tests run it against this server (FastAPI
under uvicorn on 127.0.0.1, in a thread of the test process) rather than against mocks; the real
API (greenr/api) is written separately against the same contract. A test switches `state.mode`
to make the API slow or lose its model server, and reads what the page sent from `state`.

Like the real API it wants `Authorization: Bearer <key>` on every route but /health, and answers
401 in the error shape without it: the web app's tests thus check that the page's calls carry the
web app's key (`FAKE_API_KEY`, which `web_fixtures.web_config` gives the app). The /monitoring/...
routes want the Monitoring page's key (`FAKE_MONITORING_KEY`) and refuse the predict key (403);
their bodies are built with the real API's models (greenr.monitoring), so they follow its contract.

The "model" says dandelion when a photo is more red than green on average (yellow flowers),
grass otherwise: deterministic, no TensorFlow, good enough to tell two test photos apart.
A mostly blue photo is answered "neither" (open-set rejection), with the real API's reason sentence.
"""

from __future__ import annotations

import asyncio
import io
import math
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageStat, UnidentifiedImageError
from starlette.datastructures import UploadFile

from greenr.api.open_set_answer import neither_reason
from greenr.contracts import ANSWERS, LABELS
from greenr.monitoring.activity import Activity, ConfidenceBin, default_bucket
from greenr.open_set.scorer import NEITHER

MODEL = {"name": "greenr-classifier", "version": "7"}
FAKE_API_KEY = "greenr_0123456789ab_fake-key-of-the-web-app-for-tests-only-000000"
# The Monitoring page's key (the `monitor` role): /monitoring/... only, as in the real API.
FAKE_MONITORING_KEY = "greenr_ba9876543210_fake-monitoring-key-of-the-web-app-for-tests-0"

Mode = Literal["ok", "model_down", "slow"]


@dataclass
class FakeApiState:
    """What the fake API does and what it has recorded (tests read and change it freely)."""

    mode: Mode = "ok"
    slow_seconds: float = 3.0
    max_upload_bytes: int = 10_000_000
    max_batch_files: int = 32
    predictions: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    predict_calls: int = 0
    api_key: str = FAKE_API_KEY
    refused_calls: int = 0
    monitoring_key: str = FAKE_MONITORING_KEY
    # GET /monitoring/summary's body (None: an empty catalog), drift reports and their HTML by run id.
    monitoring: dict[str, Any] | None = None
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    report_html: dict[str, bytes] = field(default_factory=dict)
    monitoring_calls: int = 0
    # GET /model/card's markdown (None: the served version has no card, a 404).
    model_card: str | None = "# Model card: greenr-classifier version 7\n\n## Intended use\n\nLawns."
    # GET /predictions/{id}/explanation: calls, and the error to answer instead (status, code, message).
    explanation_calls: int = 0
    explanation_error: tuple[int, str, str] | None = None


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _model_down() -> JSONResponse:
    return _error(
        503,
        "model_server_unavailable",
        "the model server is unavailable (it cannot be reached): try again in a moment",
    )


def classify(data: bytes) -> dict[str, float]:
    """Probabilities of the two classes from the photo's mean colour; raises for non-images."""
    red, green, _blue = _mean_colour(data)
    p_dandelion = 1.0 / (1.0 + math.exp(-12.0 * (red / max(green, 1.0) - 0.85)))
    return {"dandelion": p_dandelion, "grass": 1.0 - p_dandelion}


def open_set_score(data: bytes) -> float:
    """The fake open-set score: how blue the photo is (nothing blue was ever a dandelion or grass)."""
    red, green, blue = _mean_colour(data)
    return blue / max(red, green, 1.0)


OPEN_SET_THRESHOLD = 1.5


def _mean_colour(data: bytes) -> tuple[float, float, float]:
    with Image.open(io.BytesIO(data)) as image:
        red, green, blue = ImageStat.Stat(image.convert("RGB").resize((64, 64))).mean
    return red, green, blue


def create_app(state: FakeApiState) -> FastAPI:
    """The fake API, bound to `state`."""
    app = FastAPI()

    @app.middleware("http")
    async def require_key(request: Request, call_next: Any) -> Any:
        sent = request.headers.get("authorization")
        if request.url.path.startswith("/monitoring/"):
            if sent == f"Bearer {state.api_key}":
                return _error(
                    403,
                    "forbidden",
                    "the key 'web-app' has the role 'predict', which may not "
                    "read monitoring data: use a key with the monitor or admin role",
                )
            expected = state.monitoring_key
        else:
            expected = state.api_key
        if request.url.path != "/health" and sent != f"Bearer {expected}":
            state.refused_calls += 1
            return _error(
                401, "missing_api_key", "this endpoint needs an API key: send 'Authorization: Bearer <key>'"
            )
        return await call_next(request)

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        state.predict_calls += 1
        if state.mode == "slow":
            await asyncio.sleep(state.slow_seconds)
        if state.mode == "model_down":
            return _model_down()
        async with request.form() as form:
            uploads = [value for key, value in form.multi_items() if key == "files"]
            files = [
                (upload.filename or "upload", await upload.read())
                for upload in uploads
                if isinstance(upload, UploadFile)
            ]
        if not files:
            return _error(422, "no_files", "Send at least one photo in the multipart field 'files'.")
        if len(files) > state.max_batch_files:
            return _error(413, "too_many_files", f"Send at most {state.max_batch_files} photos at once.")
        for name, data in files:
            if len(data) > state.max_upload_bytes:
                return _error(
                    413,
                    "file_too_large",
                    f"{name} is too large: the limit is {state.max_upload_bytes} bytes.",
                )
        return JSONResponse(
            {"model": MODEL, "predictions": [_predict_one(state, name, data) for name, data in files]}
        )

    @app.get("/predictions")
    async def predictions(limit: int = 20, offset: int = 0) -> JSONResponse:
        newest_first = list(reversed(state.predictions))
        return JSONResponse(
            {
                "items": newest_first[offset : offset + limit],
                "total": len(newest_first),
                "limit": limit,
                "offset": offset,
            }
        )

    @app.post("/feedback")
    async def feedback(request: Request) -> JSONResponse:
        body = await request.json()
        prediction = next((p for p in state.predictions if p["id"] == body.get("prediction_id")), None)
        if prediction is None:
            return _error(
                404, "prediction_not_found", f"No prediction with id {body.get('prediction_id')!r}."
            )
        if body.get("label") not in ANSWERS:
            return _error(422, "invalid_label", f"label must be one of {', '.join(ANSWERS)}.")
        prediction["feedback_label"] = body["label"]
        record = {
            "id": str(uuid.uuid4()),
            "prediction_id": prediction["id"],
            "label": body["label"],
            "correct": body["label"] == prediction["label"],
            "created_at": datetime.now(UTC).isoformat(),
        }
        state.feedback.append(record)
        return JSONResponse(record, status_code=201)

    @app.get("/monitoring/summary")
    async def monitoring_summary(days: int = 7) -> JSONResponse:
        state.monitoring_calls += 1
        if state.mode == "slow":
            await asyncio.sleep(state.slow_seconds)
        return JSONResponse(state.monitoring if state.monitoring is not None else empty_summary(days))

    @app.get("/monitoring/reports/{run_id}")
    async def monitoring_report(run_id: str) -> JSONResponse:
        if run_id not in state.reports:
            return _error(404, "monitoring_run_not_found", f"no monitoring run has the id {run_id!r}")
        return JSONResponse(state.reports[run_id])

    @app.get("/monitoring/reports/{run_id}/drift.html")
    async def monitoring_report_html(run_id: str) -> Response:
        if run_id not in state.report_html:
            return _error(404, "report_not_found", f"the monitoring run {run_id} wrote no HTML drift report")
        return Response(state.report_html[run_id], media_type="text/html")

    @app.get("/health")
    async def health() -> JSONResponse:
        ready = state.mode != "model_down"
        body = {
            "status": "ok" if ready else "degraded",
            "ready": ready,
            "model_server": {"status": "ok" if ready else "unreachable"},
            "database": {"status": "ok"},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/predictions/{prediction_id}/explanation")
    async def explanation(prediction_id: str) -> Response:
        state.explanation_calls += 1
        if state.explanation_error is not None:
            return _error(*state.explanation_error)
        if not any(p["id"] == prediction_id for p in state.predictions):
            return _error(404, "prediction_not_found", f"no prediction has the id {prediction_id}")
        buffer = io.BytesIO()
        Image.new("RGB", (96, 72), (220, 0, 0)).save(buffer, format="PNG")  # all "hot"
        return Response(buffer.getvalue(), media_type="image/png")

    @app.get("/model/card")
    async def model_card() -> Response:
        if state.mode == "model_down":
            return _model_down()
        if state.model_card is None:
            return _error(
                404, "model_card_not_found", "greenr-classifier version 7 was published without a model card"
            )
        return Response(state.model_card, media_type="text/markdown; charset=utf-8")

    @app.get("/model/info")
    async def model_info() -> JSONResponse:
        if state.mode == "model_down":
            return _model_down()
        return JSONResponse(
            {
                **MODEL,
                "alias": "champion",
                "labels": list(LABELS),
                "metrics": {"accuracy": 0.95},
                "dataset_version": "test-dataset",
            }
        )

    return app


def empty_summary(days: int) -> dict[str, Any]:
    """What the real API answers on an empty catalog: no predictions, no feedback, no monitoring run."""
    until = datetime.now(UTC)
    return Activity(
        since=until - timedelta(days=days),
        until=until,
        bucket=default_bucket(days),
        predictions=0,
        per_class=[],
        confidence=[ConfidenceBin(low=0.5 + i * 0.05, high=0.55 + i * 0.05, counts={}) for i in range(10)],
        feedback=[],
        runs=[],
        latest_report_run_id=None,
    ).model_dump(mode="json")


def _predict_one(state: FakeApiState, name: str, data: bytes) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        probabilities = classify(data)
    except (UnidentifiedImageError, OSError):
        # Not stored, like a refused file in the real API: no id, no label.
        return {
            "id": None,
            "filename": name,
            "label": None,
            "probabilities": None,
            "confidence": None,
            "model_version": MODEL["version"],
            "latency_ms": None,
            "error": {"code": "invalid_image", "message": f"{name} is not an image this model can read."},
        }
    score = open_set_score(data)
    rejected = score > OPEN_SET_THRESHOLD
    label = NEITHER if rejected else max(probabilities, key=lambda key: probabilities[key])
    record = {
        "id": str(uuid.uuid4()),  # the real API's ids are UUIDs too
        "created_at": datetime.now(UTC).isoformat(),
        "filename": name,
        "sha256": "0" * 64,
        "label": label,
        "probabilities": probabilities,
        "confidence": max(probabilities.values()),
        "model_version": MODEL["version"],
        "latency_ms": 1000 * (time.perf_counter() - started),
        "open_set": {"score": score, "threshold": OPEN_SET_THRESHOLD, "method": "blue", "rejected": rejected},
        "reason": neither_reason(label, score, OPEN_SET_THRESHOLD),
        "feedback_label": None,
    }
    state.predictions.append(record)
    return {
        **{key: record[key] for key in record if key not in {"created_at", "sha256", "feedback_label"}},
        "error": None,
    }


class FakeApiServer:
    """Runs the fake API on 127.0.0.1 in a thread; use it as a context manager.

    `port=0` takes a free port; a test that first needs "nothing listens here" passes that port.
    """

    def __init__(self, state: FakeApiState | None = None, *, port: int = 0) -> None:
        self.state = state or FakeApiState()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Bound here, before the thread starts: the port is known and nobody can take it meanwhile.
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(self.state), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="fake-api", daemon=True
        )

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake prediction API did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
