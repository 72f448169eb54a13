"""Open-set rejection end to end: a REAL model server whose artifact has an open_set.json, the API.

The scorer is fitted with `greenr.open_set.scorer.fit_scorer` on the embeddings the test model
gives real photos (as training fits it on the train split), and its threshold is set halfway
between a dandelion photo's score and a far-domain picture's, both computed in this process by
`Reference`, so the outcome is certain: the picture is answered "neither", the photo is not.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from fastapi.testclient import TestClient
from model_server_kit import (
    ModelServer,
    Reference,
    assert_matches,
    metric_total,
    new_server,
    real_photos,
    write_artifact,
)
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.api.open_set_answer import neither_reason
from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine
from greenr.contracts import LABELS
from greenr.features.embedding_reduction import EmbeddingReduction, reduction_to_json
from greenr.monitoring.feedback_labels import count_new_confirmed_labels
from greenr.open_set.scorer import NEITHER, OPEN_SET_FILE, OpenSetScorer, fit_scorer, scorer_to_json
from greenr.settings import Settings, load_settings
from greenr.storage.object_store import open_object_store, s3_options

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def far_picture() -> bytes:
    """A picture from nowhere near the photos: flat magenta with a white square (PNG)."""
    image = Image.new("RGB", (240, 180), (230, 0, 200))
    image.paste((255, 255, 255), (80, 50, 160, 130))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class OpenSetCase:
    artifact: Path
    scorer: OpenSetScorer
    dandelion: Path
    far: bytes
    scores: tuple[float, float]
    """The scorer's score of the dandelion photo and of the far picture, computed here."""


@pytest.fixture(scope="module")
def case(
    tmp_path_factory: pytest.TempPathFactory, onnx_model: Path, reduction: EmbeddingReduction
) -> OpenSetCase:
    reference = Reference(onnx_model)
    photos = real_photos(4)
    train = [path.read_bytes() for path in photos]
    fitted = fit_scorer("knn", reference.outputs(train)[1], [path.parent.name for path in photos], k=1)
    dandelion = photos[0]
    assert dandelion.parent.name == "dandelion"
    far = far_picture()
    probabilities, embeddings = reference.outputs([dandelion.read_bytes(), far])
    near_score, far_score = (float(score) for score in fitted.scores(embeddings, probabilities))
    assert far_score > near_score + 1e-3, "the far picture must score clearly above the photo"
    scorer = fitted.with_threshold((near_score + far_score) / 2, {"chosen_for": 1.0})
    artifact = write_artifact(
        tmp_path_factory.mktemp("artifact-open-set"),
        onnx_model.read_bytes(),
        reduction=reduction_to_json(reduction),
    )
    (artifact / OPEN_SET_FILE).write_text(scorer_to_json(scorer))
    return OpenSetCase(artifact, scorer, dandelion, far, (near_score, far_score))


@pytest.fixture(scope="module")
def open_set_server(
    tmp_path_factory: pytest.TempPathFactory, serving_env: Path, case: OpenSetCase
) -> Iterator[ModelServer]:
    running = new_server(tmp_path_factory.mktemp("model-server-open-set"))
    running.start(str(case.artifact))
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Api:
    client: TestClient
    settings: Settings


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, open_set_server: ModelServer) -> Iterator[Api]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{open_set_server.port}")
    settings = load_settings()
    key = make_key(settings.catalog_url, Role.ADMIN, rate_per_second=1000.0, burst=1000)
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL, headers=bearer(key)) as client:
        yield Api(client, settings)


def test_a_far_picture_is_answered_neither_recorded_counted_and_filed_outside_training_data(
    api: Api, open_set_server: ModelServer, case: OpenSetCase, reference: Reference
) -> None:
    photo = case.dandelion.read_bytes()
    server_before = open_set_server.metrics()
    response = api.client.post(
        "/predict",
        files=[
            ("files", (case.dandelion.name, photo, "image/jpeg")),
            ("files", ("tulip.png", case.far, "image/png")),
        ],
    )
    assert response.status_code == 200, response.text
    kept, rejected = response.json()["predictions"]
    # Probabilities are the model's for both, the rejected one included.
    expected = reference.probabilities([photo, case.far])
    assert_matches([kept], expected[:1])
    assert [rejected["probabilities"][label] for label in LABELS] == pytest.approx(
        expected[1].tolist(), abs=1e-5
    )
    near_score, far_score = case.scores

    assert kept["label"] in LABELS
    assert kept["reason"] is None
    assert kept["open_set"]["rejected"] is False
    assert kept["open_set"]["score"] == pytest.approx(near_score, abs=1e-5)

    assert rejected["label"] == NEITHER
    assert rejected["open_set"] == {
        "score": pytest.approx(far_score, abs=1e-5),
        "threshold": pytest.approx(case.scorer.threshold),
        "method": "knn",
        "rejected": True,
    }
    assert rejected["reason"] == neither_reason(
        NEITHER, rejected["open_set"]["score"], rejected["open_set"]["threshold"]
    )
    assert rejected["reason"].startswith("This doesn't look like a dandelion or grass: its open-set score")
    assert rejected["confidence"] == pytest.approx(max(rejected["probabilities"].values()))

    # Recorded in the catalog, and shown so in the history.
    with Session(create_catalog_engine(api.settings.catalog_url)) as session:
        row = session.scalars(select(schema.Prediction).where(schema.Prediction.id == rejected["id"])).one()
        assert (row.label, row.open_set_rejected, row.open_set_method) == (NEITHER, True, "knn")
        assert row.open_set_score == pytest.approx(far_score, abs=1e-5)
        assert row.open_set_threshold == pytest.approx(case.scorer.threshold)
    history = {item["id"]: item for item in api.client.get("/predictions").json()["items"]}
    assert history[rejected["id"]]["label"] == NEITHER
    assert history[rejected["id"]]["reason"] == rejected["reason"]
    assert history[rejected["id"]]["open_set"] == rejected["open_set"]
    assert history[kept["id"]]["open_set"]["rejected"] is False

    # Counted by answer, in the API and in the model server.
    api_metrics = api.client.get("/metrics").text
    assert metric_total(api_metrics, "greenr_api_predictions_total", label=NEITHER) == 1
    assert metric_total(api_metrics, "greenr_api_predictions_total", label=kept["label"]) == 1
    server_after = open_set_server.metrics()
    assert (
        metric_total(server_after, "greenr_predictions_total", label=NEITHER)
        - metric_total(server_before, "greenr_predictions_total", label=NEITHER)
        == 1
    )

    # Feedback "neither": recorded, right, filed under open-set/neither/, never under feedback/.
    answered = api.client.post("/feedback", json={"prediction_id": rejected["id"], "label": NEITHER})
    assert answered.status_code == 201, answered.text
    assert (answered.json()["label"], answered.json()["correct"]) == (NEITHER, True)
    # Feedback "neither" on the photo the model kept: a wrong answer, filed the same way.
    answered = api.client.post("/feedback", json={"prediction_id": kept["id"], "label": NEITHER})
    assert answered.status_code == 201, answered.text
    assert answered.json()["correct"] is False
    lake = Path(api.settings.lake)
    far_sha = hashlib.sha256(case.far).hexdigest()
    photo_sha = hashlib.sha256(photo).hexdigest()
    filed = sorted(str(path.relative_to(lake)) for path in (lake / "open-set").rglob("*") if path.is_file())
    assert filed == sorted([f"open-set/neither/{far_sha}.png", f"open-set/neither/{photo_sha}.jpg"])
    assert not (lake / "feedback").exists() or not any(p.is_file() for p in (lake / "feedback").rglob("*"))
    store = open_object_store(api.settings.lake, s3_options(api.settings))
    assert count_new_confirmed_labels(store, create_catalog_engine(api.settings.catalog_url), LABELS) == 0
    api_metrics = api.client.get("/metrics").text
    assert 'greenr_api_feedback_total{correct="true",label="neither"} 1.0' in api_metrics
    assert 'greenr_api_feedback_total{correct="false",label="neither"} 1.0' in api_metrics
    # Forwarded to the model server, which accepts "neither" as a true label.
    forwarded = open_set_server.metrics()
    assert metric_total(forwarded, "greenr_feedback_total", truth=NEITHER, correct="true") == 1
    assert metric_total(forwarded, "greenr_feedback_total", truth=NEITHER, correct="false") == 1


def test_the_model_server_reports_the_open_set_verdict_directly(
    open_set_server: ModelServer, case: OpenSetCase
) -> None:
    import base64

    status, body = open_set_server.predict(
        {"jsonData": {"images": [base64.b64encode(case.far).decode(), base64.b64encode(case.far).decode()]}}
    )
    assert status == 200, body
    predictions = body["jsonData"]["predictions"]
    assert [prediction["label"] for prediction in predictions] == [NEITHER, NEITHER]
    assert all(prediction["open_set"]["rejected"] for prediction in predictions)
    # The feature columns still describe the model's output: their label is a class.
    assert all(prediction["features"]["label"] in LABELS for prediction in predictions)
