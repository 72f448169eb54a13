"""When the retrain policy says no, `run.py --pipeline retraining` trains nothing and says why.

Real PostgreSQL, SeaweedFS and MLflow. The catalog holds a dataset version and the feedback store
three corrected photos the catalog has not seen, so a chain that ran would make a new dataset
version and an MLflow run. The decision is the policy's own (`decide_retrain` on the real count of
new confirmed labels), recorded in `monitoring_runs` as the monitoring pipeline records it.

One ingestion serves the three situations, in this order: a refusal changes nothing (checked each
time), so each situation starts from the ingested catalog plus the decisions recorded so far, and
the latest decision is the one the chain reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import MlflowTarget, S3Service
from feedback_kit import file_feedback, keep_prediction, record_answers, record_monitoring_decision
from photo_factory import jpeg_bytes, make_dataset, photo
from sqlalchemy import Engine

from greenr.catalog.database import open_catalog
from greenr.catalog.repository import table_counts
from greenr.contracts import LABELS
from greenr.monitoring.config import load_monitoring_config
from greenr.monitoring.feedback_labels import count_new_confirmed_labels
from greenr.monitoring.retrain_policy import RetrainPolicy, decide_retrain
from greenr.storage.object_store import ObjectStore, S3Options, open_object_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NEW_LABELS = 3


def no_monitoring_run(engine: Engine, store: ObjectStore) -> str:
    return "no monitoring run yet"


def too_few_labels(engine: Engine, store: ObjectStore) -> str:
    policy = load_monitoring_config().retrain  # configs/monitoring.yaml: 50 labels
    now = datetime.now(UTC)
    new = count_new_confirmed_labels(store, engine, LABELS)
    record_monitoring_decision(engine, decide_retrain(policy, new, [False], None, now), now)
    return f"{NEW_LABELS} new confirmed label(s) since the last retraining (< {policy.min_new_labels})"


def cooldown(engine: Engine, store: ObjectStore) -> str:
    policy = RetrainPolicy(min_new_labels=NEW_LABELS, cooldown_days=7)  # enough labels, but...
    now = datetime.now(UTC)
    earlier = now - timedelta(days=2)
    record_monitoring_decision(engine, decide_retrain(policy, 60, [False], None, earlier), earlier)
    new = count_new_confirmed_labels(store, engine, LABELS)
    record_monitoring_decision(engine, decide_retrain(policy, new, [False], earlier, now), now)
    return "inside the 7-day cooldown"


# In this order: each records its decision after the previous one's.
SITUATIONS: tuple[Callable[[Engine, ObjectStore], str], ...] = (no_monitoring_run, too_few_labels, cooldown)


def test_the_policy_says_no_and_nothing_is_trained(
    tmp_path: Path,
    postgres_url: str,
    s3_service: S3Service,
    s3_prefix: str,
    mlflow_tracking: MlflowTarget,
) -> None:
    from mlflow import MlflowClient

    env = {
        "GREENR_HOME": str(tmp_path / "home"),
        "GREENR_LAKE_URI": s3_prefix,
        "GREENR_DATABASE_URL": postgres_url,
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
        "MLFLOW_TRACKING_URI": mlflow_tracking.uri,
        "MLFLOW_TRACKING_USERNAME": "greenr",
        "MLFLOW_TRACKING_PASSWORD": "no-auth-on-the-test-server",
        "GREENR_MODEL_NAME": mlflow_tracking.registered_model_name,
    }
    source = make_dataset(tmp_path / "source")
    ingested = run_python(["run.py", "--pipeline", "ingestion", "--source", str(source)], env)
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    engine = open_catalog(postgres_url)
    keys = (s3_service.access_key_id, s3_service.secret_access_key)
    store = open_object_store(s3_prefix, S3Options(s3_service.endpoint_url, *keys, "us-east-1", 5))
    for seed in range(NEW_LABELS):
        data = jpeg_bytes(photo(500 + seed))
        keep_prediction(store, data)
        file_feedback(store, data, "dandelion")
        record_answers(engine, data, predicted="grass", answers=["dandelion"])
    assert count_new_confirmed_labels(store, engine, LABELS) == NEW_LABELS
    client = MlflowClient(tracking_uri=mlflow_tracking.uri, registry_uri=mlflow_tracking.uri)
    for situation in SITUATIONS:
        expected = situation(engine, store)
        before = table_counts(engine)

        refused = run_python(["run.py", "--pipeline", "retraining"], env)

        assert refused.returncode == 1, f"{situation.__name__}: {refused.stdout[-2000:]}"
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith("error: "), last
        assert expected in last, last
        assert "--force" in last
        assert "Traceback" not in refused.stderr
        assert table_counts(engine) == before  # no dataset version, no image, no rejection
        # A training run registers a version of this test's own model name: there is none.
        assert client.search_model_versions(f"name = '{mlflow_tracking.registered_model_name}'") == []
