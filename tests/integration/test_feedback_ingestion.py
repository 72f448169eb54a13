"""`run.py --pipeline ingestion --source feedback` on PostgreSQL and SeaweedFS: where each photo lands.

The feedback prefix holds agreed photos (new training data), one photo the catalog holds under the
other label (review, not relabelled) and the catalog holds one photo whose answers disagree (review).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import S3Service
from feedback_kit import file_feedback, keep_prediction, record_answers, sha_of
from photo_factory import jpeg_bytes, make_dataset, photo
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.catalog.database import open_catalog
from greenr.catalog.repository import latest_dataset_version, table_counts
from greenr.storage.object_store import S3Options, open_object_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AGREED = 6  # per class: enough that an unrestricted split would send some to test


def ingest(env: Mapping[str, str], source: str) -> str:
    result = run_python(["run.py", "--pipeline", "ingestion", "--source", source], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_feedback_photos_join_train_and_validation_and_disputes_go_to_review(
    tmp_path: Path, postgres_url: str, s3_service: S3Service, s3_prefix: str
) -> None:
    env = {
        "GREENR_HOME": str(tmp_path / "home"),
        "GREENR_LAKE_URI": s3_prefix,
        "GREENR_DATABASE_URL": postgres_url,
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
    }
    source = make_dataset(tmp_path / "source", per_class=20)
    ingest(env, str(source))
    engine = open_catalog(postgres_url)
    first = latest_dataset_version(engine)
    assert first is not None
    store = open_object_store(
        s3_prefix,
        S3Options(
            s3_service.endpoint_url, s3_service.access_key_id, s3_service.secret_access_key, "us-east-1", 5
        ),
    )

    agreed = {
        label: [jpeg_bytes(photo(1000 + 10 * i + k)) for i in range(AGREED)]
        for k, label in enumerate(["dandelion", "grass"])
    }
    for label, photos in agreed.items():
        for data in photos:
            keep_prediction(store, data)
            file_feedback(store, data, label)
            other = "grass" if label == "dandelion" else "dandelion"
            record_answers(engine, data, predicted=other, answers=[label, label])  # two keys: "wrong"
    relabelled = (source / "grass" / "00000.jpg").read_bytes()  # catalogued as grass (seed 21)
    keep_prediction(store, relabelled)
    file_feedback(store, relabelled, "dandelion")
    record_answers(engine, relabelled, predicted="grass", answers=["dandelion"])
    disputed = jpeg_bytes(photo(2000))
    keep_prediction(store, disputed)
    record_answers(engine, disputed, predicted="grass", answers=["grass", "dandelion"])  # filed nowhere

    output = ingest(env, "feedback")

    new = {sha_of(data): label for label, photos in agreed.items() for data in photos}
    with Session(engine) as session:
        images = {row.sha256: row for row in session.scalars(select(schema.Image))}
        rejections = {row.sha256: row for row in session.scalars(select(schema.Rejection))}
    assert {sha: images[sha].label for sha in new} == new
    assert {images[sha].split for sha in new} == {"train", "validation"}, output
    assert images[sha_of(relabelled)].label == "grass"  # not relabelled silently
    assert sha_of(disputed) not in images
    conflict, dispute = rejections[sha_of(relabelled)], rejections[sha_of(disputed)]
    assert (conflict.reason, conflict.label) == ("label_conflict", "dandelion")
    assert dispute.reason == "feedback_disputed"
    assert "1 dandelion, 1 grass" in dispute.detail
    for rejection, data in ((conflict, relabelled), (dispute, disputed)):
        assert rejection.quarantine_key is not None
        assert store.get(rejection.quarantine_key) == data
    second = latest_dataset_version(engine)
    assert second is not None
    assert second.id != first.id
    assert {sha: split for sha, split in second.members.items() if sha in first.members} == first.members
    assert "open_splits" in (second.parameters or {})

    counts = table_counts(engine)
    again = ingest(env, "feedback")
    assert table_counts(engine) == counts, again
    latest = latest_dataset_version(engine)
    assert latest is not None
    assert latest.id == second.id
