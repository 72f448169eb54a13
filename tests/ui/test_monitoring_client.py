"""The API client's /monitoring/... calls and the web app's relay of the HTML report, against the fake API."""

from __future__ import annotations

import pytest
from fake_api import FAKE_API_KEY, FAKE_MONITORING_KEY, FakeApiServer
from http_kit import free_port
from monitoring_runs_kit import DRIFT_HTML, sample_report
from web_fixtures import (  # noqa: F401 (fake_api_fixture: a pytest fixture)
    fake_api_fixture,
    web_config,
)

from ui.api_client import ApiClient, ApiError, ApiUnavailable, failure_from_response
from ui.monitoring_panel import monitoring_client
from ui.report_route import HTML_HEADERS, relay_report


def client(url: str, key: str = FAKE_MONITORING_KEY) -> ApiClient:
    return ApiClient(url, api_key=key, key_setting="GREENR_UI_MONITORING_API_KEY")


@pytest.mark.asyncio
async def test_summary_report_and_html(fake_api: FakeApiServer) -> None:
    fake_api.state.reports["r-1"] = sample_report("r-1").model_dump(mode="json")
    fake_api.state.report_html["r-1"] = DRIFT_HTML
    api = client(fake_api.url)

    summary = await api.monitoring_summary(days=2)
    report = await api.drift_report("r-1")

    assert (summary.bucket, summary.predictions, summary.runs) == ("hour", 0, [])
    assert [len(window.tests) for window in report.windows] == [3, 3]
    assert report.decision.reasons == sample_report("r-1").decision.reasons
    assert await api.drift_report_html("r-1") == DRIFT_HTML


@pytest.mark.asyncio
async def test_errors_name_the_monitoring_key_and_the_apis_words(fake_api: FakeApiServer) -> None:
    with pytest.raises(ApiError) as unknown:
        await client(fake_api.url).drift_report("nope")
    assert (unknown.value.status, unknown.value.code) == (404, "monitoring_run_not_found")
    with pytest.raises(ApiError) as refused:
        await client(fake_api.url, key=FAKE_API_KEY).monitoring_summary(days=7)
    assert refused.value.status == 403
    assert "monitor or admin role" in refused.value.message
    with pytest.raises(ApiError) as invalid:
        await client(fake_api.url, key="greenr_000000000000_wrong").drift_report_html("r")
    assert "GREENR_UI_MONITORING_API_KEY" in invalid.value.message


def test_a_server_error_says_what_cannot_be_done() -> None:
    body = b'{"error": {"code": "storage_unavailable", "message": "the object store is unavailable"}}'
    failure = failure_from_response(503, body, "http://api", doing="show the monitoring data")
    assert isinstance(failure, ApiUnavailable)
    assert failure.message == (
        "The prediction API at http://api cannot show the monitoring data right now: "
        "the object store is unavailable"
    )


@pytest.mark.asyncio
async def test_an_api_that_is_down() -> None:
    with pytest.raises(ApiUnavailable, match="not reachable"):
        await client(f"http://127.0.0.1:{free_port()}").monitoring_summary(days=7)


def test_no_monitoring_key_no_client() -> None:
    assert monitoring_client(web_config("http://api", monitoring_api_key=None)) is None
    made = monitoring_client(web_config("http://api"))
    assert made is not None
    assert made.key_setting == "GREENR_UI_MONITORING_API_KEY"


@pytest.mark.asyncio
async def test_the_relay_sandboxes_the_report_and_says_what_went_wrong(fake_api: FakeApiServer) -> None:
    fake_api.state.report_html["r-1"] = DRIFT_HTML
    relayed = await relay_report(client(fake_api.url), "r-1")
    assert (relayed.status_code, relayed.body) == (200, DRIFT_HTML)
    assert relayed.headers["content-security-policy"] == HTML_HEADERS["Content-Security-Policy"]

    missing = await relay_report(client(fake_api.url), "r-2")
    assert missing.status_code == 404
    assert b"wrote no HTML drift report" in missing.body
    odd = await relay_report(client(fake_api.url), "../predictions")
    assert odd.status_code == 404
    assert b"is not a monitoring run id" in odd.body
    no_key = await relay_report(None, "r-1")
    assert no_key.status_code == 503
    assert b"GREENR_UI_MONITORING_API_KEY" in no_key.body
    down = await relay_report(client(f"http://127.0.0.1:{free_port()}"), "r-1")
    assert down.status_code == 503
    assert b"not reachable" in down.body
