"""GET /monitoring/...: production activity from the catalog and drift reports from the object store.

The app runs in-process on SQLite and a local lake (tests/integration/test_monitoring_api.py runs
it on PostgreSQL and S3); predictions, feedback, monitoring runs and reports are written straight
into its catalog and lake, as the API and the monitoring pipeline write them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from api_keys_kit import bearer
from http_kit import free_port
from monitoring_api_kit import Site, open_site
from monitoring_runs_kit import DRIFT_HTML, add_rows, run_row, sample_report, store_report

from greenr.monitoring.report_store import summary_key

NOW = datetime.now(UTC)


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from open_site(monkeypatch)


def assert_error(response: httpx.Response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    for fragment in fragments:
        assert fragment in error["message"], error["message"]


def hour(moment: datetime) -> str:
    return moment.replace(minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


def day(moment: datetime) -> str:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


def stamp(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- access

PATHS = ("/monitoring/summary", "/monitoring/reports/some-run", "/monitoring/reports/some-run/drift.html")


@pytest.mark.parametrize("path", PATHS)
def test_a_predict_key_is_refused(site: Site, path: str) -> None:
    assert_error(site.get(path, site.predict), 403, "forbidden", "'predict'", "monitor or admin")


@pytest.mark.parametrize("path", PATHS)
def test_no_key_is_refused(site: Site, path: str) -> None:
    response = site.client.get(path)
    assert_error(response, 401, "missing_api_key")


def test_monitor_and_admin_keys_may_read(site: Site) -> None:
    for key in (site.monitor, site.admin):
        assert site.get("/monitoring/summary", key).status_code == 200


def test_a_monitor_key_may_do_nothing_else(site: Site) -> None:
    assert_error(site.get("/predictions", site.monitor), 403, "forbidden", "'monitor'")
    assert_error(site.get("/model/info", site.monitor), 403, "forbidden")
    response = site.client.post("/feedback", json={}, headers=bearer(site.monitor))
    assert_error(response, 403, "forbidden")


# ---------------------------------------------------------------- summary


def test_empty_catalog(site: Site) -> None:
    body = site.get("/monitoring/summary").json()
    assert body["predictions"] == 0
    assert body["per_class"] == []
    assert body["feedback"] == []
    assert body["runs"] == []
    assert body["latest_report_run_id"] is None
    assert len(body["confidence"]) == 10
    assert all(item["counts"] == {} for item in body["confidence"])
    assert body["bucket"] == "day"


def test_predictions_per_class_per_hour_and_per_day(site: Site) -> None:
    moments = {
        "dandelion": [
            NOW - timedelta(minutes=5),
            NOW - timedelta(hours=1, minutes=5),
            NOW - timedelta(hours=30),
        ],
        "grass": [NOW - timedelta(minutes=6), NOW - timedelta(hours=5)],
    }
    for label, ats in moments.items():
        for at in ats:
            site.prediction(at, label, 0.9)
    site.prediction(NOW - timedelta(days=10), "grass", 0.9)  # outside both periods

    hourly = site.get("/monitoring/summary", days=2).json()
    assert hourly["bucket"] == "hour"
    expected = Counter((hour(at), label) for label, ats in moments.items() for at in ats)
    assert {(stamp(item["start"]), item["label"]): item["count"] for item in hourly["per_class"]} == expected
    assert hourly["predictions"] == 5

    daily = site.get("/monitoring/summary", days=7).json()
    assert daily["bucket"] == "day"
    expected = Counter((day(at), label) for label, ats in moments.items() for at in ats)
    assert {(stamp(item["start"]), item["label"]): item["count"] for item in daily["per_class"]} == expected
    starts = [item["start"] for item in daily["per_class"]]
    assert starts == sorted(starts)

    forced = site.get("/monitoring/summary", days=7, bucket="hour").json()
    assert forced["bucket"] == "hour"
    assert len(forced["per_class"]) == 5
    assert site.get("/monitoring/summary", days=30).json()["predictions"] == 6


def test_confidence_histogram(site: Site) -> None:
    at = NOW - timedelta(minutes=1)
    for label, confidence in [
        ("dandelion", 0.5),
        ("dandelion", 0.549),
        ("grass", 0.55),
        ("grass", 0.97),
        ("dandelion", 1.0),
        ("dandelion", 0.99),
    ]:
        site.prediction(at, label, confidence)
    bins = site.get("/monitoring/summary").json()["confidence"]
    assert [(item["low"], item["high"]) for item in bins][:2] == [(0.5, 0.55), (0.55, 0.6)]
    assert bins[-1]["high"] == 1.0
    assert bins[0]["counts"] == {"dandelion": 2}
    assert bins[1]["counts"] == {"grass": 1}
    assert bins[9]["counts"] == {"dandelion": 2, "grass": 1}
    assert sum(sum(item["counts"].values()) for item in bins) == 6


def test_feedback_accuracy_per_bucket(site: Site) -> None:
    first = NOW - timedelta(hours=3)
    ids = [site.prediction(first, "dandelion", 0.9) for _ in range(4)]
    site.feedback(ids[0], "dandelion", True, first)
    site.feedback(ids[1], "grass", False, first)
    site.feedback(ids[2], "dandelion", True, first)
    site.feedback(ids[3], "dandelion", True, NOW - timedelta(minutes=1))

    points = site.get("/monitoring/summary", days=1).json()["feedback"]
    by_hour = {stamp(point["start"]): point for point in points}
    assert by_hour[hour(first)] | {"start": None} == {
        "start": None,
        "labelled": 3,
        "correct": 2,
        "accuracy": pytest.approx(2 / 3),
    }
    assert by_hour[hour(NOW - timedelta(minutes=1))]["accuracy"] == 1.0


def test_runs_newest_first_and_the_latest_report(site: Site) -> None:
    older = sample_report("run-older")
    newer = sample_report("run-newer")
    store_report(site.services.objects, older)
    store_report(site.services.objects, newer)
    with site.services.store.session() as session:
        add_rows(
            session,
            run_row(older, started_at=NOW - timedelta(days=2)),
            run_row(newer, started_at=NOW - timedelta(days=1)),
            # The newest run saw nothing and wrote no report: the page keeps showing the last one.
            run_row(None, run_id="run-empty", started_at=NOW - timedelta(hours=1)),
        )
    body = site.get("/monitoring/summary").json()
    assert [run["id"] for run in body["runs"]] == ["run-empty", "run-newer", "run-older"]
    assert body["latest_report_run_id"] == "run-newer"
    newest = body["runs"][1]
    assert (newest["drifted"], newest["retrain"], newest["windows"]) == (True, True, 2)
    assert newest["reasons"] == list(newer.decision.reasons)
    assert body["runs"][0]["reasons"] == ["no predictions since the last run"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"days": "week"}, "days"),
        ({"bucket": "week"}, "bucket"),
    ],
)
def test_bad_summary_parameters(site: Site, params: dict[str, str | int], fragment: str) -> None:
    assert_error(
        site.client.get("/monitoring/summary", params=params, headers=bearer(site.monitor)),
        422,
        "invalid_request",
        fragment,
    )


# ---------------------------------------------------------------- reports


def test_report_and_its_html(site: Site) -> None:
    report = sample_report("run-1")
    store_report(site.services.objects, report)
    with site.services.store.session() as session:
        add_rows(session, run_row(report))

    response = site.get("/monitoring/reports/run-1")
    assert response.status_code == 200, response.text
    assert response.json() == report.model_dump(mode="json")

    html = site.get("/monitoring/reports/run-1/drift.html", site.admin)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.content == DRIFT_HTML
    assert html.headers["content-security-policy"] == "sandbox allow-scripts"


def test_unknown_run(site: Site) -> None:
    for path in ("/monitoring/reports/nope", "/monitoring/reports/nope/drift.html"):
        assert_error(site.get(path), 404, "monitoring_run_not_found", "'nope'", "/monitoring/summary")


def test_run_without_a_report(site: Site) -> None:
    with site.services.store.session() as session:
        add_rows(session, run_row(None, run_id="quiet"))
    assert_error(
        site.get("/monitoring/reports/quiet"), 404, "report_not_found", "python run.py --pipeline monitoring"
    )


def test_report_missing_from_the_store(site: Site) -> None:
    report = sample_report("gone")
    with site.services.store.session() as session:
        add_rows(session, run_row(report))  # the row, but no object
    assert_error(site.get("/monitoring/reports/gone"), 404, "report_not_found", "missing", "summary.json")


def test_report_without_html(site: Site) -> None:
    report = sample_report("plain", with_html=False)
    store_report(site.services.objects, report)
    with site.services.store.session() as session:
        add_rows(session, run_row(report))
    assert site.get("/monitoring/reports/plain").status_code == 200
    assert_error(site.get("/monitoring/reports/plain/drift.html"), 404, "report_not_found", "no HTML")


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"run_id": "broken"}', "created_at"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_report_that_is_not_a_report(site: Site, document: bytes, fragment: str) -> None:
    with site.services.store.session() as session:
        add_rows(session, run_row(None, run_id="broken", report_key=summary_key("broken")))
    site.services.objects.put(summary_key("broken"), document)
    response = site.get("/monitoring/reports/broken")
    assert_error(
        response, 502, "invalid_report", "broken", fragment, "run python run.py --pipeline monitoring"
    )


def test_html_key_outside_the_monitoring_prefix_is_not_read(site: Site) -> None:
    report = sample_report("sneaky").model_copy(update={"html_key": "predictions/someone.jpg"})
    store_report(site.services.objects, report)
    with site.services.store.session() as session:
        add_rows(session, run_row(report))
    assert_error(
        site.get("/monitoring/reports/sneaky/drift.html"), 502, "invalid_report", "processed/monitoring/"
    )


@pytest.mark.parametrize("run_id", ["bad id", "-x", "a" * 65])
def test_bad_run_ids(site: Site, run_id: str) -> None:
    assert_error(site.get(f"/monitoring/reports/{run_id}"), 422, "invalid_request", "run_id")


@pytest.mark.slow
def test_object_store_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """An S3 endpoint where nothing listens: 503 with advice, not a traceback; the summary still works."""
    env = {
        "GREENR_LAKE_URI": "s3://greenr/lake",
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{free_port()}",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    for site in open_site(monkeypatch, **env):
        with site.services.store.session() as session:
            add_rows(session, run_row(sample_report("far")))
        for path in ("/monitoring/reports/far", "/monitoring/reports/far/drift.html"):
            response = site.get(path)
            assert_error(response, 503, "storage_unavailable", "far", "GREENR_LAKE_URI")
            assert response.headers["retry-after"]
        assert site.get("/monitoring/summary").json()["latest_report_run_id"] == "far"


def test_openapi_documents_the_monitoring_routes(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    html = paths["/monitoring/reports/{run_id}/drift.html"]["get"]["responses"]
    assert list(html["200"]["content"]) == ["text/html"]
    # Its errors are JSON like every other error, not HTML.
    assert all(
        list(html[status]["content"]) == ["application/json"] for status in ("403", "404", "502", "503")
    )
    assert {"403", "404", "422", "502", "503"} <= set(
        paths["/monitoring/reports/{run_id}"]["get"]["responses"]
    )
    assert {"403", "422", "503"} <= set(paths["/monitoring/summary"]["get"]["responses"])
