"""Access to the prediction API over HTTP: keys (401), roles (403), ownership (404), rate (429), hosts (400).

The app runs in-process on SQLite and a local lake; predictions are written straight into its
catalog (no model server needed), as POST /predict would write them, with the key that made them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from fastapi.testclient import TestClient
from http_kit import free_port
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.api.keys.tokens import parse_token
from greenr.api.predictions_store import PredictionRow
from greenr.api.services import ApiServices
from greenr.catalog import schema
from greenr.monitoring.feedback_labels import FEEDBACK_PREFIX
from greenr.settings import Settings, load_settings

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@dataclass
class Site:
    """The app, its settings, and three keys: two `predict` users and an admin."""

    client: TestClient
    settings: Settings
    user: str
    other: str
    admin: str

    @property
    def services(self) -> ApiServices:
        services: ApiServices = self.client.app.state.services  # type: ignore[attr-defined]
        return services

    def get(self, path: str, key: str | None, params: dict[str, int] | None = None) -> httpx.Response:
        response: httpx.Response = self.client.get(path, headers=bearer(key) if key else {}, params=params)
        return response

    def feedback(self, key: str | None, prediction_id: str, label: str) -> httpx.Response:
        payload = {"prediction_id": prediction_id, "label": label}
        response: httpx.Response = self.client.post(
            "/feedback", json=payload, headers=bearer(key) if key else {}
        )
        return response

    def prediction(self, key: str | None, photo: bytes, label: str = "dandelion", minutes: int = 0) -> str:
        """Record a prediction of `photo` made with `key` (None: a row from before keys existed)."""
        sha = hashlib.sha256(photo).hexdigest()
        object_key = f"predictions/{sha}.jpg"
        self.services.archive.store.put(object_key, photo)
        token = parse_token(key) if key else None
        row = PredictionRow(
            id=str(uuid.uuid4()),
            created_at=T0 + timedelta(minutes=minutes),
            filename=f"{sha[:8]}.jpg",
            sha256=sha,
            label=label,
            probabilities={"dandelion": 0.9, "grass": 0.1}
            if label == "dandelion"
            else {"dandelion": 0.1, "grass": 0.9},
            confidence=0.9,
            model_name="greenr-classifier",
            model_version="3",
            latency_ms=10.0,
            object_key=object_key,
            api_key_id=token.key_id if token else None,
        )
        self.services.store.record_predictions([row])
        return row.id

    def filed(self) -> list[str]:
        root = Path(self.settings.lake) / FEEDBACK_PREFIX
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def site_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[Site]:
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    url = settings.catalog_url
    user, other = make_key(url, Role.PREDICT, "web-app"), make_key(url, Role.PREDICT, "phone")
    admin = make_key(url, Role.ADMIN, "ops")
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL) as client:
        yield Site(client, settings, user, other, admin)


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from site_for(monkeypatch)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"], body
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    return message


# ---------------------------------------------------------------- 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/predict"), ("GET", "/predictions"), ("POST", "/feedback"), ("GET", "/model/info")],
)
def test_a_request_without_a_key_gets_401(site: Site, method: str, path: str) -> None:
    response = site.client.request(method, path)
    message = assert_error(response, 401, "missing_api_key")
    assert "Authorization: Bearer" in message
    assert "python -m greenr.api.keys create" in message
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="greenr"'


def test_a_wrong_or_revoked_key_gets_401(site: Site) -> None:
    token = parse_token(site.user)
    assert token is not None
    for bad in (
        "nonsense",
        site.user[:-1] + ("A" if site.user[-1] != "A" else "B"),
        f"greenr_{'0' * 12}_{token.secret}",
    ):
        response = site.get("/predictions", bad)
        assert_error(response, 401, "invalid_api_key")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_error(
        site.client.get("/predictions", headers={"Authorization": f"Basic {site.user}"}),
        401,
        "missing_api_key",
    )
    assert site.get("/predictions", site.user).status_code == 200
    site.services.keys.revoke(token.key_id)
    assert_error(site.get("/predictions", site.user), 401, "invalid_api_key")


def test_a_request_without_a_key_is_refused_before_its_body_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for site in site_for(monkeypatch, GREENR_MAX_UPLOAD_BYTES="1000", GREENR_MAX_BATCH_FILES="2"):
        # Over the body limit (~1 MiB here): refused for the missing key (401), not measured (413).
        response = site.client.post(
            "/predict", files=[("files", ("a.jpg", b"\xff" * 3_000_000, "image/jpeg"))]
        )
        assert_error(response, 401, "missing_api_key")
        with_key = site.client.post(
            "/predict",
            files=[("files", ("a.jpg", b"\xff" * 3_000_000, "image/jpeg"))],
            headers=bearer(site.user),
        )
        assert_error(with_key, 413, "request_too_large")


def test_probes_metrics_and_docs_need_no_key(site: Site) -> None:
    assert site.get("/health", None).status_code == 200
    assert site.get("/health/ready", None).status_code == 503  # no model server here
    assert site.get("/metrics", None).status_code == 200
    assert site.get("/docs", None).status_code == 200
    spec = site.get("/openapi.json", None).json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    assert spec["paths"]["/predict"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in spec["paths"]["/health"]["get"]
    assert {"401", "429"} <= set(spec["paths"]["/feedback"]["post"]["responses"])


# ---------------------------------------------------------------- roles and ownership


def test_history_lists_only_the_keys_own_predictions(site: Site) -> None:
    mine = site.prediction(site.user, b"photo-1", minutes=1)
    theirs = site.prediction(site.other, b"photo-2", minutes=2)
    legacy = site.prediction(None, b"photo-3", minutes=3)

    def ids(key: str) -> tuple[list[str], int]:
        body = site.get("/predictions", key).json()
        return [item["id"] for item in body["items"]], body["total"]

    assert ids(site.user) == ([mine], 1)
    assert ids(site.other) == ([theirs], 1)
    assert ids(site.admin) == ([legacy, theirs, mine], 3)


def test_feedback_on_another_keys_prediction_is_not_found(site: Site) -> None:
    theirs = site.prediction(site.other, b"photo-2")
    legacy = site.prediction(None, b"photo-3")
    unknown = str(uuid.uuid4())
    messages = {
        prediction_id: assert_error(
            site.feedback(site.user, prediction_id, "grass"), 404, "prediction_not_found"
        )
        for prediction_id in (theirs, legacy, unknown)
    }
    # The same answer as for an id that does not exist: ids of other keys do not leak.
    assert {message.replace(pid, "ID") for pid, message in messages.items()} == {
        messages[unknown].replace(unknown, "ID")
    }
    with Session(site.services.store.engine) as session:
        assert session.scalars(select(schema.Feedback)).all() == []
    # An admin may relabel any prediction, the old ones too.
    assert site.feedback(site.admin, theirs, "grass").status_code == 201
    assert site.feedback(site.admin, legacy, "grass").status_code == 201


def test_metrics_can_be_kept_for_admins(monkeypatch: pytest.MonkeyPatch) -> None:
    for site in site_for(monkeypatch, GREENR_API_PROTECT_METRICS="true"):
        assert_error(site.get("/metrics", None), 401, "missing_api_key")
        message = assert_error(site.get("/metrics", site.user), 403, "forbidden")
        assert "'predict'" in message
        assert "admin" in message
        assert site.get("/metrics", site.admin).status_code == 200
        assert site.get("/health", None).status_code == 200


# ---------------------------------------------------------------- feedback: once per prediction and key


def test_a_second_answer_replaces_the_first(site: Site) -> None:
    prediction_id = site.prediction(site.user, b"photo-1", label="dandelion")
    first = site.feedback(site.user, prediction_id, "dandelion")
    assert first.status_code == 201, first.text
    assert site.filed() == [f"dandelion/{hashlib.sha256(b'photo-1').hexdigest()}.jpg"]
    second = site.feedback(site.user, prediction_id, "grass")
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert (second.json()["label"], second.json()["correct"]) == ("grass", False)
    with Session(site.services.store.engine) as session:
        rows = session.scalars(select(schema.Feedback)).all()
    assert [(row.label, row.correct) for row in rows] == [("grass", False)]
    # The photo moved: it is never under both labels.
    assert site.filed() == [f"grass/{hashlib.sha256(b'photo-1').hexdigest()}.jpg"]
    (item,) = site.get("/predictions", site.user).json()["items"]
    assert item["feedback_label"] == "grass"


def test_disagreeing_keys_never_file_a_photo_under_both_labels(site: Site) -> None:
    sha = hashlib.sha256(b"same-photo").hexdigest()
    mine = site.prediction(site.user, b"same-photo")
    theirs = site.prediction(site.other, b"same-photo")
    assert site.feedback(site.user, mine, "dandelion").status_code == 201
    assert site.filed() == [f"dandelion/{sha}.jpg"]
    assert site.feedback(site.other, theirs, "grass").status_code == 201
    assert site.filed() == []  # disputed: in neither folder until an admin decides
    assert site.feedback(site.admin, theirs, "grass").status_code == 201
    assert site.filed() == [f"grass/{sha}.jpg"]
    assert site.feedback(site.user, mine, "dandelion").status_code == 200
    assert site.filed() == [f"grass/{sha}.jpg"]  # the admin's relabelling stands


def test_three_hundred_answers_make_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    for site in site_for(monkeypatch, GREENR_API_RATE_PER_SECOND="10000", GREENR_API_RATE_BURST="10000"):
        prediction_id = site.prediction(site.user, b"photo-1")
        statuses = [
            site.feedback(site.user, prediction_id, ("grass", "dandelion")[i % 2]).status_code
            for i in range(300)
        ]
        assert statuses == [201] + [200] * 299
        with Session(site.services.store.engine) as session:
            assert len(session.scalars(select(schema.Feedback)).all()) == 1
        assert len(site.filed()) == 1


# ---------------------------------------------------------------- rate limit


def test_a_key_over_its_rate_gets_429_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    for site in site_for(monkeypatch, GREENR_API_RATE_PER_SECOND="0.01", GREENR_API_RATE_BURST="3"):
        prediction_id = site.prediction(site.user, b"photo-1")
        answers = [site.feedback(site.user, prediction_id, "grass") for _ in range(5)]
        assert [answer.status_code for answer in answers] == [201, 200, 200, 429, 429]
        message = assert_error(answers[3], 429, "rate_limited")
        assert "'web-app'" in message
        assert answers[3].headers["Retry-After"] == "100"  # a token every 100 s
        # Other keys, probes and metrics are not slowed by it.
        assert site.get("/predictions", site.other).status_code == 200
        assert all(site.get("/health", None).status_code == 200 for _ in range(10))
        assert all(site.get("/metrics", None).status_code == 200 for _ in range(10))


def test_a_keys_own_rate_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    for site in site_for(monkeypatch, GREENR_API_RATE_PER_SECOND="0.01", GREENR_API_RATE_BURST="1"):
        fast = make_key(site.settings.catalog_url, Role.PREDICT, "bench", rate_per_second=1000.0, burst=20)
        assert [site.get("/predictions", fast).status_code for _ in range(20)] == [200] * 20
        assert [site.get("/predictions", site.user).status_code for _ in range(2)] == [200, 429]


# ---------------------------------------------------------------- trusted hosts


@pytest.mark.parametrize("path", ["/health", "/predictions", "/metrics"])
def test_a_foreign_host_header_gets_400(site: Site, path: str) -> None:
    response = site.client.get(path, headers={"Host": "rebind.attacker.example", **bearer(site.admin)})
    message = assert_error(response, 400, "untrusted_host")
    assert "GREENR_API_TRUSTED_HOSTS" in message
    assert response.headers["X-Request-ID"]


def test_the_api_answers_its_own_names(site: Site) -> None:
    for host in ("127.0.0.1", "127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        assert site.client.get("/health", headers={"Host": host}).status_code == 200, host


def test_trusted_hosts_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_API_HOST", "10.1.2.3")
    assert load_settings().trusted_hosts == ["127.0.0.1", "localhost", "[::1]", "10.1.2.3"]
    monkeypatch.setenv("GREENR_API_HOST", "0.0.0.0")
    assert load_settings().trusted_hosts == ["127.0.0.1", "localhost", "[::1]"]
    monkeypatch.setenv("GREENR_API_TRUSTED_HOSTS", "api.greenr.example, *.greenr.internal")
    assert load_settings().trusted_hosts == ["api.greenr.example", "*.greenr.internal"]
    for site in site_for(monkeypatch):
        assert site.client.get("/health", headers={"Host": "api.greenr.example"}).status_code == 200
        assert site.client.get("/health", headers={"Host": "x.greenr.internal"}).status_code == 200
        assert_error(site.client.get("/health", headers={"Host": "127.0.0.1"}), 400, "untrusted_host")
