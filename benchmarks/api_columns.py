"""The prediction API's own work on the feature columns, per image, with its own functions (issue 13).

The model server's part (computing the columns and the open-set verdict) is timed by
`serving_benchmark.extras_call`. This is the API's part, for one photo at a time:
- parsing the columns out of the model server's answer: `ModelClient.predict` on the answer the
  running model server gave for that photo, replayed by an in-process transport (no network);
- putting them in the catalog row and the response item (`prediction_row`, `prediction_item`,
  the item serialized as the response is);
- inserting the row: `PredictionsStore.record_predictions` into a scratch SQLite catalog, the
  database of the local stack, in a temporary folder (never the real prediction log, which the
  monitoring pipeline reads).
Each photo is run with its real answer and with the same answer stripped of `features`,
`feature_set_version` and `open_set` (serving/README.md's optional fields), so the difference
is what the columns cost the API.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Final

import httpcore

from greenr.api.model_client import ModelClient
from greenr.api.prediction import prediction_item, prediction_row
from greenr.api.predictions_store import PredictionsStore
from greenr.api.uploads import AcceptedImage
from greenr.catalog.database import create_catalog_engine

COLUMN_FIELDS: Final = ("features", "feature_set_version", "open_set")
"""What the model server adds to each prediction for monitoring and open-set rejection."""


def strip_columns(body: bytes) -> bytes:
    """A model-server answer without the feature columns and open-set verdict (an older server's)."""
    answer = json.loads(body)
    for prediction in answer["jsonData"]["predictions"]:
        for name in COLUMN_FIELDS:
            prediction.pop(name, None)
    return json.dumps(answer).encode()


def has_columns(body: bytes) -> bool:
    """Whether every prediction of the answer carries feature columns."""
    predictions = json.loads(body)["jsonData"]["predictions"]
    return bool(predictions) and all(p.get("features") for p in predictions)


class _Recording(httpcore.ConnectionPool):
    """The real connection pool, keeping the last response body."""

    def __init__(self) -> None:
        super().__init__()
        self.body = b""

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        response = super().handle_request(request)
        self.body = response.read()
        response.close()
        return httpcore.Response(response.status, headers=response.headers, content=self.body)


class _Replaying(httpcore.ConnectionPool):
    """Answers every request with `body`, in-process (no socket)."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        return httpcore.Response(200, content=self.body)


def recorded_answers(server: str, timeout_seconds: float, images: Sequence[Path]) -> list[bytes]:
    """The running model server's answer body to the API's own call for each photo."""
    recording = _Recording()
    client = ModelClient(server, timeout_seconds, transport=recording)
    try:
        answers = []
        for photo in images:
            client.predict([photo.read_bytes()])
            answers.append(recording.body)
        return answers
    finally:
        client.close()


def replaying_client(body: bytes) -> ModelClient:
    """The API's model-server client, answered `body` by an in-process transport."""
    return ModelClient("http://model-server.invalid", 5.0, transport=_Replaying(body))


def accepted(photo: Path) -> AcceptedImage:
    """The photo as the API's upload check hands it on (the size is not the columns' business)."""
    data = photo.read_bytes()
    return AcceptedImage(photo.name, data, hashlib.sha256(data).hexdigest(), "JPEG", 0, 0)


@contextmanager
def scratch_store() -> Iterator[PredictionsStore]:
    """A migrated SQLite catalog in a temporary folder, removed afterwards."""
    with TemporaryDirectory(prefix="greenr-bench-catalog-") as folder:
        store = PredictionsStore(create_catalog_engine(f"sqlite:///{folder}/catalog.db"))
        try:
            store.ensure_schema()
            yield store
        finally:
            store.close()


def columns_call(
    answers: Sequence[bytes], images: Sequence[Path], store: PredictionsStore
) -> Callable[[int, bool], object]:
    """One photo's API-side work on its answer, with (True) or without (False) the columns."""
    if len(answers) != len(images):
        raise ValueError(f"{len(answers)} answers for {len(images)} photos")
    clients = {
        True: [replaying_client(body) for body in answers],
        False: [replaying_client(strip_columns(body)) for body in answers],
    }
    uploads = [accepted(photo) for photo in images]

    def call(index: int, with_columns: bool) -> Any:
        slot = index % len(uploads)
        answer = clients[with_columns][slot].predict([uploads[slot].data])
        (scores,) = answer.predictions
        row = prediction_row(uploads[slot], scores, answer.model, answer.latency_ms, None)
        store.record_predictions([row])
        return prediction_item(row).model_dump_json()

    return call
