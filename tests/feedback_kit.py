"""Feedback as the API leaves it, written straight to a catalog and an object store (for source tests).

The rows and keys follow the API's own layout (greenr/api/image_archive.py): the photo under
`predictions/<sha256>.jpg`, one prediction row, one feedback row per answering key, and the
photo copied to `feedback/<label>/` when the answers agree (the API's filing rule).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, insert

from greenr.catalog import schema
from greenr.monitoring.report import RetrainDecision
from greenr.storage.object_store import ObjectStore

NOW = datetime(2026, 11, 29, 10, tzinfo=UTC)


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep_prediction(store: ObjectStore, data: bytes) -> str:
    """Keep the photo as the API does at prediction time; its key."""
    key = f"predictions/{sha_of(data)}.jpg"
    store.put(key, data)
    return key


def file_feedback(store: ObjectStore, data: bytes, label: str) -> str:
    """File the photo under feedback/<label>/ as the API does when the answers agree."""
    key = f"feedback/{label}/{sha_of(data)}.jpg"
    store.put(key, data)
    return key


def record_answers(engine: Engine, data: bytes, predicted: str, answers: Sequence[str]) -> str:
    """One prediction of the photo and one answer per label (each from its own key); the prediction id."""
    prediction_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            insert(schema.Prediction).values(
                id=prediction_id,
                created_at=NOW,
                filename="photo.jpg",
                sha256=sha_of(data),
                label=predicted,
                probabilities={"dandelion": 0.4, "grass": 0.6},
                confidence=0.6,
                model_name="greenr",
                model_version="1",
                latency_ms=1.0,
                object_key=f"predictions/{sha_of(data)}.jpg",
            )
        )
        for label in answers:
            connection.execute(
                insert(schema.Feedback).values(
                    id=str(uuid.uuid4()),
                    prediction_id=prediction_id,
                    label=label,
                    correct=label == predicted,
                    created_at=NOW,
                    api_key_id=uuid.uuid4().hex,
                )
            )
    return prediction_id


def record_monitoring_decision(
    engine: Engine, decision: RetrainDecision, at: datetime, drifted: bool = False
) -> str:
    """A `monitoring_runs` row with the decision, as the monitoring pipeline records one; its id."""
    run_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            insert(schema.MonitoringRun).values(
                id=run_id,
                started_at=at,
                finished_at=at,
                since=None,
                until=at,
                predictions=0,
                windows=0,
                drifted=False,
                retrain=decision.retrain,
                forced=decision.forced,
                reasons=decision.reasons,
                report_key=None,
            )
        )
    return run_id
