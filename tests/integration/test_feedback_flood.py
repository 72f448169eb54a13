"""Flooding POST /feedback for one prediction changes nothing beyond each key's first answer.

The API runs in-process on PostgreSQL and SeaweedFS with a real model server; three keys (the
owner and two admins) each send the same answer many times at once. What retraining and
monitoring read must count each key once: one catalog row per key (with its first answer's time),
the photo filed once, one feedback forwarded to the model server and counted per key.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from conftest import S3Service
from fastapi.testclient import TestClient
from model_server_kit import ModelServer, metric_total, real_photos
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine
from greenr.contracts import LABELS
from greenr.monitoring.feedback_labels import count_new_confirmed_labels
from greenr.settings import load_settings
from greenr.storage.object_store import S3Options, open_object_store

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPEATS = 12  # answers per key, sent 6 at a time


def test_a_flood_of_the_same_answer_counts_once_per_key(
    monkeypatch: pytest.MonkeyPatch,
    model_server: ModelServer,
    postgres_url: str,
    s3_service: S3Service,
    s3_prefix: str,
) -> None:
    env = {
        "GREENR_MODEL_SERVER_URL": f"http://127.0.0.1:{model_server.port}",
        "GREENR_DATABASE_URL": postgres_url,
        "GREENR_LAKE_URI": s3_prefix,
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    path = real_photos(1)[0]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()

    def key(role: Role, name: str) -> dict[str, str]:
        return bearer(make_key(postgres_url, role, name, rate_per_second=1000.0, burst=1000))

    owner = key(Role.PREDICT, "owner")
    admins = [key(Role.ADMIN, f"admin-{i}") for i in range(2)]
    before = model_server.metrics()

    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL) as client:
        files = [("files", (path.name, path.read_bytes(), "image/jpeg"))]
        (item,) = client.post("/predict", files=files, headers=owner).json()["predictions"]
        truth = next(label for label in LABELS if label != item["label"])  # "wrong": a correction
        body = {"prediction_id": item["id"], "label": truth}

        def flood(headers: dict[str, str]) -> list[tuple[int, str, str]]:
            def send(_: int) -> tuple[int, str, str]:
                response = client.post("/feedback", json=body, headers=headers)
                answer = response.json()
                return response.status_code, answer["id"], answer["created_at"]

            with ThreadPoolExecutor(max_workers=6) as pool:
                return list(pool.map(send, range(REPEATS)))

        floods = [flood(headers) for headers in (owner, *admins)]
        api_metrics = client.get("/metrics", headers=admins[0]).text

    firsts = []
    for answers in floods:
        assert Counter(status for status, _, _ in answers) == {201: 1, 200: REPEATS - 1}
        assert len({(answer_id, at) for _, answer_id, at in answers}) == 1  # the first answer, every time
        firsts.append(answers[0][1])

    engine = create_catalog_engine(postgres_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(schema.Feedback)).all()
        assert sorted(row.id for row in rows) == sorted(firsts)
        assert {row.label for row in rows} == {truth}
        keys = (s3_service.access_key_id, s3_service.secret_access_key)
        store = open_object_store(s3_prefix, S3Options(s3_service.endpoint_url, *keys, "us-east-1", 5))
        assert sorted(store.existing_keys("feedback")) == [f"feedback/{truth}/{sha}.jpg"]
        assert count_new_confirmed_labels(store, engine, LABELS) == 1
    finally:
        engine.dispose()

    # Told once per key: the model server's feedback metric and the API's counter.
    after = model_server.metrics()
    forwarded = metric_total(after, "greenr_feedback_total", truth=truth, correct="false") - metric_total(
        before, "greenr_feedback_total", truth=truth, correct="false"
    )
    assert forwarded == 3
    assert f'greenr_api_feedback_total{{correct="false",label="{truth}"}} 3.0' in api_metrics
