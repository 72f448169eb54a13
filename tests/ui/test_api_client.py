"""The API client against a real HTTP server (the fake API) and a port where nothing listens."""

from __future__ import annotations

import io

import httpx
import pytest
from fake_api import FAKE_API_KEY, FakeApiServer
from http_kit import free_port
from PIL import Image
from web_fixtures import fake_api_fixture  # noqa: F401 (fake_api_fixture: a pytest fixture)

from ui.api_client import (
    ApiClient,
    ApiError,
    ApiTimeouts,
    ApiUnavailable,
    UploadedFile,
    failure_from_response,
)
from ui.batch_table import batch_rows

pytestmark = pytest.mark.asyncio

FAST = ApiTimeouts(connect=1.0, read=0.5, predict=0.5)


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (60, 150, 50)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def test_predict_returns_typed_results_and_per_file_errors(fake_api: FakeApiServer) -> None:
    client = ApiClient(fake_api.url, api_key=FAKE_API_KEY)

    response = await client.predict(
        [UploadedFile("lawn.jpg", _photo(), "image/jpeg"), UploadedFile("notes.txt", b"text", "text/plain")]
    )

    assert response.model is not None
    assert (response.model.name, response.model.version) == ("greenr-classifier", "7")
    lawn, notes = response.predictions
    assert (lawn.id, lawn.label, lawn.error) == (fake_api.state.predictions[0]["id"], "grass", None)
    assert sum(lawn.probabilities.values()) == pytest.approx(1.0)
    assert notes.error is not None
    assert notes.error.code == "invalid_image"
    assert notes.probabilities == {}  # the API sent null
    assert batch_rows(response.predictions)[1]["error"] == "notes.txt is not an image this model can read."


async def test_history_feedback_health_and_model_info(fake_api: FakeApiServer) -> None:
    client = ApiClient(fake_api.url, api_key=FAKE_API_KEY)
    await client.predict([UploadedFile("lawn.jpg", _photo(), "image/jpeg")])

    page = await client.predictions(limit=10, offset=0)
    feedback = await client.feedback(page.items[0].id, "dandelion")
    health = await client.health()
    info = await client.model_info()

    assert (page.total, page.items[0].filename, page.items[0].created_at is not None) == (1, "lawn.jpg", True)
    assert (feedback.prediction_id, feedback.label, feedback.correct) == (
        page.items[0].id,
        "dandelion",
        False,
    )
    assert health.ready
    assert (info.version, info.alias, info.labels) == ("7", "champion", ["dandelion", "grass"])


async def test_an_error_answer_keeps_the_apis_words(fake_api: FakeApiServer) -> None:
    client = ApiClient(fake_api.url, api_key=FAKE_API_KEY)

    with pytest.raises(ApiError) as unknown:
        await client.feedback(999, "grass")
    fake_api.state.max_upload_bytes = 10
    with pytest.raises(ApiError) as too_large:
        await client.predict([UploadedFile("big.jpg", _photo())])

    assert (unknown.value.status, unknown.value.code, unknown.value.message) == (
        404,
        "prediction_not_found",
        "No prediction with id 999.",
    )
    assert (too_large.value.status, too_large.value.code) == (413, "file_too_large")
    assert too_large.value.message == "big.jpg is too large: the limit is 10 bytes."


async def test_nothing_listening_is_unavailable_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ApiUnavailable) as failure:
        await ApiClient(url, timeouts=FAST).health()

    assert failure.value.message == (
        f"The prediction API at {url} is not reachable (nothing answers there): start it, then retry."
    )


async def test_a_slow_api_is_unavailable_after_the_timeout(fake_api: FakeApiServer) -> None:
    fake_api.state.mode = "slow"
    fake_api.state.slow_seconds = 2.0

    with pytest.raises(ApiUnavailable, match=r"did not answer within 0\.5 s"):
        await ApiClient(fake_api.url, api_key=FAKE_API_KEY, timeouts=FAST).predict(
            [UploadedFile("a.jpg", _photo())]
        )


async def test_model_server_down_is_unavailable_and_health_says_not_ready(fake_api: FakeApiServer) -> None:
    fake_api.state.mode = "model_down"
    client = ApiClient(fake_api.url, api_key=FAKE_API_KEY)

    with pytest.raises(ApiUnavailable) as failure:
        await client.predict([UploadedFile("a.jpg", _photo())])
    health = await client.health()  # a 503 that carries a health body

    assert failure.value.message.endswith(
        "cannot classify photos right now: the model server is unavailable (it cannot be reached): "
        "try again in a moment"
    )
    assert (health.ready, health.status) == (False, "degraded")


async def test_a_body_off_contract_is_an_api_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"unexpected": True}))

    with pytest.raises(ApiError) as failure:
        await ApiClient("http://api.test", transport=transport).model_info()

    assert failure.value.code == "unexpected_response"
    assert "GET /model/info" in failure.value.message


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (502, b"<html>Bad Gateway</html>", ApiUnavailable, "answered HTTP 502: try again in a moment."),
        (
            503,
            b'{"error": {"code": "model_server_unavailable", "message": "down\\n  for now"}}',
            ApiUnavailable,
            "cannot classify photos right now: down for now",
        ),
        (400, b"oops", ApiError, "The prediction API answered HTTP 400 without an error message."),
        (422, b'{"error": {"code": "no_files", "message": "Send a file."}}', ApiError, "Send a file."),
        (
            429,
            b'{"error": {"code": "rate_limited", "message": "too many requests: retry after 2 s"}}',
            ApiUnavailable,
            "cannot classify photos right now: too many requests: retry after 2 s",
        ),
        (
            401,
            b'{"error": {"code": "invalid_api_key", "message": "the API key is not valid"}}',
            ApiError,
            "The web app has no valid key for the prediction API: an operator must set GREENR_UI_API_KEY",
        ),
    ],
)
async def test_failure_from_response(status: int, body: bytes, kind: type[Exception], message: str) -> None:
    failure = failure_from_response(status, body, "http://api")

    assert isinstance(failure, kind)
    assert message in failure.message
    assert "\n" not in failure.message


async def test_the_key_is_sent_and_a_missing_one_is_explained(fake_api: FakeApiServer) -> None:
    assert (await ApiClient(fake_api.url, api_key=FAKE_API_KEY).predictions(limit=5, offset=0)).total == 0
    assert fake_api.state.refused_calls == 0
    for key in (None, "greenr_0123456789ab_wrong"):
        with pytest.raises(ApiError) as failure:
            await ApiClient(fake_api.url, api_key=key).predictions(limit=5, offset=0)
        assert failure.value.status == 401
        assert "GREENR_UI_API_KEY" in failure.value.message
    assert fake_api.state.refused_calls == 2
    # /health needs no key (the page checks it before anything else).
    assert (await ApiClient(fake_api.url).health()).ready
