"""GET /monitoring/... on PostgreSQL and SeaweedFS (S3): the hour and day buckets PostgreSQL computes,
and the reports read from S3 (tests/unit/api/test_api_monitoring.py covers the rest on SQLite).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import S3Service
from monitoring_api_kit import Site, open_site
from monitoring_runs_kit import DRIFT_HTML, add_rows, run_row, sample_report, store_report

pytestmark = [pytest.mark.integration]


@pytest.fixture
def site(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str, s3_service: S3Service, s3_prefix: str
) -> Iterator[Site]:
    yield from open_site(
        monkeypatch,
        GREENR_DATABASE_URL=postgres_url,
        GREENR_LAKE_URI=s3_prefix,
        AWS_ENDPOINT_URL_S3=s3_service.endpoint_url,
        AWS_ACCESS_KEY_ID=s3_service.access_key_id,
        AWS_SECRET_ACCESS_KEY=s3_service.secret_access_key,
    )


def truncated(moment: datetime, bucket: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if bucket == "day" else moment


def test_buckets_on_postgres(site: Site) -> None:
    now = datetime.now(UTC)
    moments = [now - timedelta(minutes=3), now - timedelta(hours=2), now - timedelta(hours=26)]
    for index, at in enumerate(moments):
        label = "dandelion" if index % 2 == 0 else "grass"
        prediction = site.prediction(at, label, 0.62 + 0.1 * index)
        site.feedback(prediction, label, True, at)
    site.prediction(now - timedelta(days=20), "grass", 0.9)

    for days, bucket in ((2, "hour"), (7, "day")):
        body = site.get("/monitoring/summary", days=days).json()
        assert body["bucket"] == bucket
        counts = {
            (datetime.fromisoformat(item["start"]), item["label"]): item["count"]
            for item in body["per_class"]
        }
        expected = Counter(
            (truncated(at, bucket), "dandelion" if index % 2 == 0 else "grass")
            for index, at in enumerate(moments)
        )
        assert counts == expected
        feedback = Counter(
            {datetime.fromisoformat(point["start"]): point["labelled"] for point in body["feedback"]}
        )
        assert feedback == Counter(truncated(at, bucket) for at in moments)
    histogram = site.get("/monitoring/summary").json()["confidence"]
    assert [sum(item["counts"].values()) for item in histogram] == [0, 0, 1, 0, 1, 0, 1, 0, 0, 0]


def test_reports_from_s3(site: Site) -> None:
    report = sample_report("pg-run")
    store_report(site.services.objects, report)
    with site.services.store.session() as session:
        add_rows(session, run_row(report), run_row(None, run_id="pg-quiet", started_at=report.created_at))
    assert site.get("/monitoring/reports/pg-run").json() == report.model_dump(mode="json")
    assert site.get("/monitoring/reports/pg-run/drift.html").content == DRIFT_HTML
    assert site.get("/monitoring/reports/pg-quiet").json()["error"]["code"] == "report_not_found"
    assert site.get("/monitoring/summary").json()["latest_report_run_id"] == "pg-run"
