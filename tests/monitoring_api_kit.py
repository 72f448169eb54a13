"""The prediction API in-process with three keys (predict, monitor, admin), for the Monitoring API's tests.

Predictions and feedback are written straight into the app's catalog, as POST /predict and
POST /feedback write them; the settings (SQLite + local lake, or PostgreSQL + S3) come from the
environment the test sets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from fastapi.testclient import TestClient
from http_kit import free_port

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.api.predictions_store import FeedbackRow, PredictionRow
from greenr.api.services import ApiServices
from greenr.settings import load_settings


@dataclass
class Site:
    client: TestClient
    predict: str
    monitor: str
    admin: str

    @property
    def services(self) -> ApiServices:
        services: ApiServices = self.client.app.state.services  # type: ignore[attr-defined]
        return services

    def get(self, path: str, key: str | None = None, **params: str | int) -> httpx.Response:
        headers = bearer(key or self.monitor)
        response: httpx.Response = self.client.get(path, headers=headers, params=params)
        return response

    def prediction(self, at: datetime, label: str, confidence: float) -> str:
        other = 1.0 - confidence
        row = PredictionRow(
            id=str(uuid.uuid4()),
            created_at=at,
            filename="photo.jpg",
            sha256=uuid.uuid4().hex * 2,
            label=label,
            probabilities={"dandelion": confidence, "grass": other}
            if label == "dandelion"
            else {"dandelion": other, "grass": confidence},
            confidence=confidence,
            model_name="greenr-classifier",
            model_version="3",
            latency_ms=10.0,
            object_key=None,
        )
        self.services.store.record_predictions([row])
        return row.id

    def feedback(self, prediction_id: str, label: str, correct: bool, at: datetime) -> None:
        self.services.store.record_feedback(FeedbackRow(str(uuid.uuid4()), prediction_id, label, correct, at))


def open_site(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[Site]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    url = settings.catalog_url
    keys = (make_key(url, role, role.value) for role in (Role.PREDICT, Role.MONITOR, Role.ADMIN))
    predict, monitor, admin = keys
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL) as client:
        yield Site(client, predict, monitor, admin)
