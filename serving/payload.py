"""The JSON shapes of the Seldon messages this model accepts and returns (serving/README.md).

Requests: one image as `binData`, or a batch as `jsonData` (`{"images": [base64, ...]}` or a bare
list of base64 strings). `strData` is refused rather than guessed at: a base64 string there would
be indistinguishable from a file path or a label, and Seldon already has a binary field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from serving.open_set_scoring import OpenSetVerdict, answered_label

ACCEPTED = (
    'send one image as binData, or a batch as jsonData {"images": ["<base64>", ...]} (JPEG, PNG or WebP)'
)


class BadRequestError(ValueError):
    """The request does not follow the documented shape; the message tells the client what to send."""


def images_from_request(payload: Any, max_batch_size: int) -> list[bytes]:
    """The image bytes of a prediction request, in order.

    `payload` is what Seldon hands to `predict`: bytes for binData, a dict or list for jsonData,
    str for strData and an ndarray for `data`.

    Raises:
        BadRequestError: wrong message type, empty or oversized batch, or invalid base64.
    """
    if isinstance(payload, bytes | bytearray):
        return [bytes(payload)]
    if isinstance(payload, str):
        raise BadRequestError(f"strData is not accepted: {ACCEPTED}")
    if isinstance(payload, np.ndarray):
        raise BadRequestError(f"data (ndarray/tensor) is not accepted: {ACCEPTED}")
    if isinstance(payload, Mapping):
        if "images" not in payload:
            raise BadRequestError(f'jsonData has no "images" list: {ACCEPTED}')
        items = payload["images"]
    else:
        items = payload
    if not isinstance(items, list):
        raise BadRequestError(f'jsonData "images" must be a list of base64 strings: {ACCEPTED}')
    if not items:
        raise BadRequestError(f"the batch is empty: {ACCEPTED}")
    if len(items) > max_batch_size:
        raise BadRequestError(
            f"the batch holds {len(items)} images, at most {max_batch_size} are accepted per request"
        )
    images = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise BadRequestError(f"image {index} must be a base64 string, got {type(item).__name__}")
        try:
            images.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError):
            raise BadRequestError(f"image {index} is not valid base64") from None
    return images


def bin_data_problem(value: Any) -> str | None:
    """Why a `binData` value is not base64 text (None when it is)."""
    if not isinstance(value, str):
        return f"binData must be a base64 string, got {type(value).__name__}"
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "binData is not valid base64"
    return None


def predictions_body(
    probabilities: npt.NDArray[np.float32],
    labels: Sequence[str],
    model: Mapping[str, Any],
    features: Sequence[Mapping[str, Any]] | None = None,
    feature_set_version: int | None = None,
    open_set: Sequence[OpenSetVerdict] | None = None,
) -> dict[str, Any]:
    """The jsonData of a prediction response: one entry per image, in request order.

    With `features` (one dict per image), each entry also carries its feature columns and the
    feature set version they were computed with: added keys, so older clients read it unchanged.
    With `open_set` (one verdict per image), each entry carries its `open_set` block, and a
    rejected image answers "neither" (its probabilities unchanged).
    """
    verdicts: Sequence[OpenSetVerdict | None] = (
        open_set if open_set is not None else [None] * len(probabilities)
    )
    predictions: list[dict[str, Any]] = []
    for row, verdict in zip(probabilities, verdicts, strict=True):
        prediction: dict[str, Any] = {
            "label": answered_label(labels[int(np.argmax(row))], verdict),
            "probabilities": {label: float(value) for label, value in zip(labels, row, strict=True)},
        }
        if verdict is not None:
            prediction["open_set"] = verdict.as_json()
        predictions.append(prediction)
    if features is not None:
        for prediction, columns in zip(predictions, features, strict=True):
            prediction["features"] = dict(columns)
            prediction["feature_set_version"] = feature_set_version
    return {"predictions": predictions, "model": dict(model)}


@dataclass(frozen=True)
class FeedbackRecord:
    """One image's feedback: its true label ("unknown" when not given) and whether the model was right."""

    truth: str
    correct: bool


def feedback_records(
    predicted: Any, truth: Any, reward: float, labels: Sequence[str]
) -> list[FeedbackRecord]:
    """Turn a Seldon feedback into records.

    `predicted` (the feedback's request `data.ndarray`) holds the labels the model answered and
    `truth` (the feedback's truth `data.ndarray`) the true labels. With both, each image is right
    when they agree. Without predicted labels, Seldon's own convention decides: reward 1 means the
    prediction was right, 0 that it was wrong (threshold 0.5).

    Raises:
        BadRequestError: a label is not one of the model's, or the two lists differ in length.
    """
    predicted_labels = _labels(predicted, "request", labels)
    true_labels = _labels(truth, "truth", labels)
    by_reward = reward >= 0.5
    if not true_labels:
        # No truth: one record per predicted image (or one for the whole feedback), judged by reward.
        return [FeedbackRecord("unknown", by_reward)] * max(len(predicted_labels), 1)
    if not predicted_labels:
        return [FeedbackRecord(label, by_reward) for label in true_labels]
    if len(predicted_labels) != len(true_labels):
        raise BadRequestError(
            f"feedback has {len(predicted_labels)} predicted labels (request) but {len(true_labels)} true "
            "labels (truth): send one of each per image"
        )
    return [
        FeedbackRecord(true, guess == true) for guess, true in zip(predicted_labels, true_labels, strict=True)
    ]


def _labels(values: Any, field: str, labels: Sequence[str]) -> list[str]:
    items = [str(item) for item in np.asarray(values).ravel().tolist()]
    unknown = sorted(set(items) - set(labels))
    if unknown:
        raise BadRequestError(
            f"feedback {field} holds unknown label(s) {unknown}: expected some of {list(labels)} "
            f'as {{"data": {{"ndarray": ["{labels[0]}", ...]}}}}'
        )
    return items
