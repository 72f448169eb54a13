"""Request and response bodies of the API (the contract the web app is written against).

The examples are what /docs shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from greenr.api.open_set_answer import neither_reason
from greenr.contracts import LABELS, Answer
from greenr.open_set.scorer import NEITHER

# The examples that /docs shows use the project's classes: the first as the prediction, the other
# as the feedback that corrects it.
_PREDICTED, _CORRECTED = LABELS
_PROBABILITIES_EXAMPLE: dict[str, JsonValue] = {_PREDICTED: 0.9731, _CORRECTED: 0.0269}

_PREDICTION_EXAMPLE: dict[str, JsonValue] = {
    "id": "6f1c2a9e-8f4b-4c3e-9a51-0d6a1b2c3d4e",
    "filename": "meadow.jpg",
    "label": _PREDICTED,
    "probabilities": _PROBABILITIES_EXAMPLE,
    "confidence": 0.9731,
    "model_version": "3",
    "latency_ms": 18.4,
    "open_set": {"score": 1.7, "threshold": 2.4, "method": "mahalanobis", "rejected": False},
    "reason": None,
    "error": None,
}
_NEITHER_EXAMPLE: dict[str, JsonValue] = {
    **_PREDICTION_EXAMPLE,
    "id": "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "filename": "tulip.jpg",
    "label": NEITHER,
    "probabilities": {_PREDICTED: 0.8812, _CORRECTED: 0.1188},
    "confidence": 0.8812,
    "open_set": {"score": 3.1, "threshold": 2.4, "method": "mahalanobis", "rejected": True},
    "reason": neither_reason(NEITHER, 3.1, 2.4),
}
_REJECTED_EXAMPLE: dict[str, JsonValue] = {
    "id": None,
    "filename": "notes.jpg",
    "label": None,
    "probabilities": None,
    "confidence": None,
    "model_version": None,
    "latency_ms": None,
    "open_set": None,
    "reason": None,
    "error": {
        "code": "not_an_image",
        "message": "notes.jpg: the file is not a recognised image format: send a JPEG, PNG or WebP photo",
    },
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable reason, e.g. `file_too_large`.")
    message: str = Field(description="What went wrong and what to do, in one sentence.")


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "model_server_unavailable",
                        "message": "the model server is unavailable (it cannot be reached): try again in a "
                        "moment; operators: python -m greenr.deployment status",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


class ModelRef(BaseModel):
    name: str
    version: str


class OpenSetInfo(BaseModel):
    """How unlike the training photos the photo is (open-set rejection)."""

    score: float = Field(description="The open-set score: higher means less like the training photos.")
    threshold: float | None = Field(
        description="The model's threshold: a score above it is answered `neither` (null: never calibrated)."
    )
    method: str = Field(description="How the score is computed: `mahalanobis`, `knn` or `max_probability`.")
    rejected: bool = Field(description="True when the photo was answered `neither`.")


_LABEL = (
    "The answer: `dandelion` or `grass`, or `neither` when the photo looks unlike both (its open-set "
    "score is above the model's threshold; the probabilities are still given)."
)
_OPEN_SET = "The open-set verdict; null for a model published without open-set rejection."
_REASON = "Why the answer is `neither`, in one sentence; null for a class answer."


class PredictionItem(BaseModel):
    """One uploaded file: its prediction, or (in a batch) why it was refused."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [_PREDICTION_EXAMPLE, _NEITHER_EXAMPLE, _REJECTED_EXAMPLE]}
    )

    id: str | None = Field(description="Prediction id (for POST /feedback); null for a refused file.")
    filename: str
    label: Answer | None = Field(description=_LABEL)
    probabilities: dict[str, float] | None = Field(description="Probability of each class; they sum to 1.")
    confidence: float | None = Field(
        description="Probability of the most probable class (also for `neither`)."
    )
    model_version: str | None
    latency_ms: float | None = Field(
        description="Round trip of the model-server call that classified the image (shared by a batch)."
    )
    open_set: OpenSetInfo | None = Field(None, description=_OPEN_SET)
    reason: str | None = Field(None, description=_REASON)
    error: ErrorDetail | None


class PredictResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": {"name": "greenr-classifier", "version": "3"},
                    "predictions": [_PREDICTION_EXAMPLE, _REJECTED_EXAMPLE],
                }
            ]
        }
    )

    model: ModelRef
    predictions: list[PredictionItem]


class ModelServerHealth(BaseModel):
    reachable: bool
    model_version: str | None
    fallback: bool | None = Field(description="True while the model server serves its cached fallback copy.")


class DatabaseHealth(BaseModel):
    reachable: bool
    writable: bool = Field(
        description="A write would succeed now (not read-only, not locked); false when unreachable."
    )


class HealthResponse(BaseModel):
    """Liveness is the 200 itself; readiness is `ready` (and GET /health/ready's status)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "ready": True,
                    "model_server": {"reachable": True, "model_version": "3", "fallback": False},
                    "database": {"reachable": True, "writable": True},
                },
                {
                    "status": "degraded",
                    "ready": False,
                    "model_server": {"reachable": False, "model_version": None, "fallback": None},
                    "database": {"reachable": True, "writable": True},
                },
            ]
        }
    )

    status: Literal["ok", "degraded"]
    ready: bool
    model_server: ModelServerHealth
    database: DatabaseHealth


MODEL_CARD_PATH = "/model/card"


class ModelInfoResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "greenr-classifier",
                    "version": "3",
                    "alias": "champion",
                    "labels": list(LABELS),
                    "metrics": {"test_accuracy": 0.95, "test_f1": 0.94},
                    "dataset_version": "0b6f3c1d2e4f5a6b7c8d9e0f1a2b3c4d",
                    "exported_at": "2025-11-27T12:00:00Z",
                    "fallback": False,
                    "model_card": "/model/card",
                }
            ]
        }
    )

    name: str
    version: str
    alias: str | None
    labels: list[str]
    metrics: dict[str, float] | None = Field(
        description="Test-set metrics of this version (admin keys only)."
    )
    dataset_version: str | None = Field(
        description="The dataset version it was trained on (admin keys only)."
    )
    exported_at: str | None = Field(description="When the model was exported (admin keys only).")
    fallback: bool
    model_card: str = Field(
        MODEL_CARD_PATH, description="Where this version's model card is (markdown, every key may read it)."
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"prediction_id": "6f1c2a9e-8f4b-4c3e-9a51-0d6a1b2c3d4e", "label": _CORRECTED}]
        },
    )

    prediction_id: UUID = Field(description="An id returned by POST /predict.")
    label: Answer = Field(
        description="What the photo really shows: `dandelion`, `grass`, or `neither` (something else: the "
        "photo is kept for calibrating open-set rejection, never as training data for a class)."
    )


class FeedbackResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0a4e5f60-7b8c-4d9e-8f01-23456789abcd",
                    "prediction_id": "6f1c2a9e-8f4b-4c3e-9a51-0d6a1b2c3d4e",
                    "label": _CORRECTED,
                    "correct": False,
                    "created_at": "2025-11-28T09:15:02.123456Z",
                }
            ]
        }
    )

    id: str
    prediction_id: str
    label: Answer
    correct: bool = Field(description="Whether the prediction had this label.")
    created_at: datetime


class HistoryItem(BaseModel):
    id: str
    created_at: datetime
    filename: str
    sha256: str
    label: Answer = Field(description=_LABEL)
    probabilities: dict[str, float]
    confidence: float
    model_version: str
    latency_ms: float
    open_set: OpenSetInfo | None = Field(None, description=_OPEN_SET)
    reason: str | None = Field(None, description=_REASON)
    feedback_label: Answer | None = Field(description="The latest feedback's label, null without feedback.")


class HistoryResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "6f1c2a9e-8f4b-4c3e-9a51-0d6a1b2c3d4e",
                            "created_at": "2025-11-28T09:14:55.001234Z",
                            "filename": "meadow.jpg",
                            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                            "label": _PREDICTED,
                            "probabilities": _PROBABILITIES_EXAMPLE,
                            "confidence": 0.9731,
                            "model_version": "3",
                            "latency_ms": 18.4,
                            "feedback_label": _CORRECTED,
                        }
                    ],
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                }
            ]
        }
    )

    items: list[HistoryItem]
    total: int
    limit: int
    offset: int
