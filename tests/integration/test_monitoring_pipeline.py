"""The monitoring pipeline end to end, through `python run.py`, on real PostgreSQL and S3.

A published model version (metadata.json with its test F1, feature_reference.json) and logged
predictions with features are written as the features helper's code and the API would; each
run is a subprocess (ZenML's configuration is process-global, and the CLI is what people use).
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cli_runner import run_python
from conftest import S3Service
from prediction_log_kit import feature_row, reference_for
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.catalog.database import open_catalog
from greenr.contracts import LABELS, POSITIVE_LABEL, ServingMetadata, artifact_prefix
from greenr.features.definitions import feature_set
from greenr.features.reference import REFERENCE_FILE
from greenr.monitoring.prediction_profiles import PROFILES_PREFIX, profile_key
from greenr.monitoring.published import METADATA_FILE
from greenr.monitoring.report import DriftReport
from greenr.monitoring.report_store import summary_key
from greenr.storage.object_store import ObjectStore, S3Options, open_object_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAME = "greenr-classifier"
T0 = datetime(2026, 11, 28, 8, tzinfo=UTC)
NEGATIVE = next(label for label in LABELS if label != POSITIVE_LABEL)


@dataclass
class Services:
    env: dict[str, str]
    engine: Engine
    store: ObjectStore


@pytest.fixture
def services(s3_service: S3Service, s3_prefix: str, postgres_url: str) -> Iterator[Services]:
    env = {
        "GREENR_LAKE_URI": s3_prefix,
        "GREENR_DATABASE_URL": postgres_url,
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
        "GREENR_S3_TIMEOUT_SECONDS": "5",
    }
    options = S3Options(
        s3_service.endpoint_url, s3_service.access_key_id, s3_service.secret_access_key, "us-east-1", 5.0
    )
    engine = open_catalog(postgres_url)
    yield Services(env, engine, open_object_store(s3_prefix, options))
    engine.dispose()


def publish(store: ObjectStore, version: str, test_f1: float) -> None:
    """A published version as the deployment pipeline and the training reference leave it."""
    prefix = artifact_prefix(NAME, version)
    metadata = ServingMetadata(
        model_name=NAME,
        version=version,
        alias="champion",
        labels=LABELS,
        input_size=224,
        metrics={"test_f1": test_f1},
        dataset_version="ds-test",
        exported_at="2026-11-28T00:00:00+00:00",
        sha256="0" * 64,
    )
    store.put(f"{prefix}/{METADATA_FILE}", metadata.model_dump_json().encode())
    store.put(f"{prefix}/{REFERENCE_FILE}", reference_for(NAME, version).model_dump_json().encode())


def log_predictions(
    engine: Engine,
    first: int,
    count: int,
    *,
    version: str = "1",
    shift: float = 0.0,
    with_features: bool = True,
) -> list[str]:
    """Predictions number first..first+count-1, one second apart, as the API logs them."""
    rng = random.Random(first)
    ids = []
    with Session(engine) as session, session.begin():
        for n in range(first, first + count):
            features = feature_row(rng, shift) if with_features else None
            label = str(features["label"]) if features else POSITIVE_LABEL
            p = 0.9 if label == POSITIVE_LABEL else 0.1
            prediction_id = f"pred-{n:05d}"
            session.add(
                schema.Prediction(
                    id=prediction_id,
                    created_at=T0 + timedelta(seconds=n),
                    filename=f"{n}.jpg",
                    sha256=f"{n:064d}",
                    label=label,
                    probabilities={POSITIVE_LABEL: p, NEGATIVE: 1 - p},
                    confidence=max(p, 1 - p),
                    model_name=NAME,
                    model_version=version,
                    latency_ms=10.0,
                    features=features,
                    feature_set_version=feature_set().version if with_features else None,
                )
            )
            ids.append(prediction_id)
    return ids


def give_feedback(engine: Engine, truths: Mapping[str, str]) -> None:
    with Session(engine) as session, session.begin():
        for n, (prediction_id, label) in enumerate(truths.items()):
            predicted = session.get(schema.Prediction, prediction_id)
            assert predicted is not None
            session.add(
                schema.Feedback(
                    id=f"fb-{prediction_id}-{n}",
                    prediction_id=prediction_id,
                    label=label,
                    correct=label == predicted.label,
                    created_at=datetime.now(UTC),
                    api_key_id=None,
                )
            )


def run_monitoring(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(["run.py", "--pipeline", "monitoring", *args], services.env)


def monitoring_runs(engine: Engine) -> list[schema.MonitoringRun]:
    with Session(engine) as session:
        return list(session.scalars(select(schema.MonitoringRun).order_by(schema.MonitoringRun.started_at)))


def stored_report(store: ObjectStore, run_id: str) -> DriftReport:
    return DriftReport.model_validate_json(store.get(summary_key(run_id)))


def profiled_rows(services: Services) -> dict[str, int]:
    """Each whylogs profile the pipeline wrote, and how many predictions it counts."""
    from whylogs.core import DatasetProfileView

    env = services.env
    options = S3Options(
        env["AWS_ENDPOINT_URL_S3"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "us-east-1", 5.0
    )
    # A store of its own: the fixture's caches the listings it made before this run wrote more.
    store = open_object_store(env["GREENR_LAKE_URI"], options)
    counted = {}
    for key in sorted(store.existing_keys(PROFILES_PREFIX)):
        frame = DatasetProfileView.deserialize(store.get(key)).to_pandas()
        assert {"label", "confidence", "p_dandelion", "latency_ms", "brightness"} <= set(frame.index)
        counted[key] = int(frame.loc["label", "counts/n"])
    return counted


def test_two_runs_compare_windows_score_feedback_record_and_print_the_decision(services: Services) -> None:
    engine, store = services.engine, services.store
    publish(store, "1", test_f1=0.95)
    log_predictions(engine, 0, 3, with_features=False)  # from before the server computed features
    same = log_predictions(engine, 3, 100)
    log_predictions(engine, 103, 100, shift=0.4)  # brighter, bigger: drifted
    log_predictions(engine, 203, 30)  # an incomplete window: carried to the next run
    # Feedback: 3 right, 1 wrong among the first window's predictions.
    with Session(engine) as session:
        query = select(schema.Prediction.id, schema.Prediction.label).where(
            schema.Prediction.id.in_(same[:4])
        )
        labels = dict(sorted(session.execute(query).tuples().all()))
    truths = dict(list(labels.items())[:3])
    wrong_id, wrong_label = list(labels.items())[3]
    truths[wrong_id] = NEGATIVE if wrong_label == POSITIVE_LABEL else POSITIVE_LABEL
    give_feedback(engine, truths)

    first = run_monitoring(services, "--window", "100")
    assert first.returncode == 0, first.stderr[-4000:]
    lines = first.stdout.strip().splitlines()
    decision = json.loads(lines[-1])
    assert isinstance(decision["retrain"], bool)
    assert decision["reasons"]
    assert decision["retrain"] is False  # one drift run, no new labels: the policy waits
    assert "203 predictions read: 200 in 2 window(s), 3 without features (skipped)" in first.stdout
    assert "30 carried to the next run" in first.stdout
    assert "DRIFT in" in first.stdout

    [row] = monitoring_runs(engine)
    assert (row.since, row.predictions, row.windows, row.drifted, row.retrain) == (None, 203, 2, True, False)
    assert row.until == T0 + timedelta(seconds=202)
    assert row.reasons == decision["reasons"]
    report = stored_report(store, row.id)
    assert row.report_key == summary_key(row.id)
    assert [w.drifted for w in report.windows] == [False, True]
    assert report.consecutive_drift_runs == 1
    assert report.feedback is not None
    assert (report.feedback.labelled, report.feedback.accuracy, report.feedback.test_f1) == (4, 0.75, 0.95)
    assert report.html_key is not None
    page = store.get(report.html_key).decode()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "brightness" in page
    # Every consumed prediction, with features or not, in one profile of version 1; not the carried.
    assert profiled_rows(services) == {profile_key(T0, NAME, "1", 203): 203}

    # The second run takes only what came after the first: the 30 carried + 80 new = 1 window.
    log_predictions(engine, 233, 80, shift=0.4)
    second = run_monitoring(services, "--window", "100")
    assert second.returncode == 0, second.stderr[-4000:]
    assert json.loads(second.stdout.strip().splitlines()[-1])["retrain"] is True  # drift in 2 runs in a row
    latest = monitoring_runs(engine)[-1]
    assert (latest.since, latest.predictions, latest.windows) == (row.until, 100, 1)
    again = stored_report(store, latest.id)
    assert again.windows[0].start == T0 + timedelta(seconds=203)
    assert again.consecutive_drift_runs == 2
    assert again.feedback is None
    # The 30 carried are profiled once, by the run that consumed them.
    assert profiled_rows(services) == {
        profile_key(T0, NAME, "1", 203): 203,
        profile_key(T0 + timedelta(seconds=203), NAME, "1", 100): 100,
    }


def test_a_version_without_reference_is_skipped_force_retrains_and_an_unpublished_version_fails(
    services: Services,
) -> None:
    engine, store = services.engine, services.store
    publish(store, "1", test_f1=0.9)
    store.delete(f"{artifact_prefix(NAME, '1')}/{REFERENCE_FILE}")
    log_predictions(engine, 0, 20)
    skipped = run_monitoring(services, "--window", "10", "--force")
    assert skipped.returncode == 0, skipped.stderr[-4000:]
    assert "skipped (greenr-classifier version 1 has no published feature reference" in skipped.stdout
    assert json.loads(skipped.stdout.strip().splitlines()[-1])["reasons"][0] == "forced (--force)"
    [row] = monitoring_runs(engine)
    assert (row.windows, row.drifted, row.retrain, row.forced) == (0, False, True, True)

    log_predictions(engine, 20, 5, version="9")  # version 9 was never published
    failed = run_monitoring(services, "--window", "10")
    assert failed.returncode == 1
    assert "expect_column_values_to_be_in_set(model) failed" in failed.stderr
    assert "greenr-classifier/9" in failed.stderr
    assert "Traceback" not in failed.stderr.splitlines()[-1]
    assert len(monitoring_runs(engine)) == 1  # a failed run records nothing
    assert profiled_rows(services) == {profile_key(T0, NAME, "1", 20): 20}  # and profiles nothing
