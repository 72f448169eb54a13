"""The ingestion pipeline on an S3 prefix (SeaweedFS) and on a URL list (a local HTTP server)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import S3Service
from photo_factory import jpeg_bytes, photo
from photo_server import Served, photo_server
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.catalog.database import open_catalog
from greenr.catalog.repository import latest_dataset_version, table_counts

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def ingest(source: str, env: dict[str, str] | None = None) -> str:
    result = run_python(["run.py", "--pipeline", "ingestion", "--source", source], env or {})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def local_catalog() -> Engine:
    return open_catalog(f"sqlite:///{Path(os.environ['GREENR_HOME']) / 'catalog.db'}")


def test_an_s3_prefix_is_ingested_and_a_second_run_changes_nothing(
    s3_service: S3Service, s3_prefix: str
) -> None:
    bucket_key = s3_prefix.removeprefix(f"s3://{s3_service.bucket}/")
    client = s3_service.client()
    seed = 0
    for label in ("dandelion", "grass"):
        for i in range(12):
            seed += 1
            client.put_object(
                Bucket=s3_service.bucket,
                Key=f"{bucket_key}/incoming/{label}/{i}.jpg",
                Body=jpeg_bytes(photo(seed)),
            )
    client.put_object(
        Bucket=s3_service.bucket, Key=f"{bucket_key}/incoming/grass/bad.jpg", Body=b"not a photo" * 20
    )
    env = {
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
    }
    source = f"{s3_prefix}/incoming/"
    # The ingestion DAG's first task asks the same question of an S3 landing area: 0 = new photos.
    landing = ["-m", "greenr.ingestion.landing", "pending", source]
    before = run_python(landing, env)
    assert (before.returncode, before.stdout.strip()) == (0, "none"), before.stderr[-2000:]
    first = ingest(source, env)
    assert "new: 24, unchanged: 0, rejected: 1" in first
    assert "not_an_image: 1" in first
    engine = local_catalog()
    counts = table_counts(engine)
    assert counts["images"] == 24
    assert counts["dataset_versions"] == 1
    quarantine = Path(os.environ["GREENR_HOME"]) / "lake" / "quarantine" / "not_an_image"
    assert len(list(quarantine.iterdir())) == 1

    after = run_python(landing, env)
    assert after.returncode == 99, after.stderr[-2000:]  # nothing new: the DAG run is skipped
    second = ingest(source, env)
    assert "new: 0, unchanged: 24, rejected: 1" in second
    assert table_counts(engine) == counts


def test_a_url_list_is_ingested_with_every_failed_url_recorded(tmp_path: Path) -> None:
    photos = {f"{i}.jpg": jpeg_bytes(photo(i)) for i in range(24)}
    # Served as image/jpeg, but not a photo: the download succeeds, screening refuses it.
    photos["fake.jpg"] = b"not a photo" * 20
    served = Served(photos=photos, slow_seconds=2.0)
    with photo_server(served) as base:
        lines = ["url,label"]
        lines += [f"{base}/photos/{i}.jpg,{'dandelion' if i % 2 else 'grass'}" for i in range(24)]
        lines += [
            f"{base}/missing,grass",
            f"{base}/html,grass",
            f"{base}/loop,dandelion",
            f"{base}/slow,grass",
            f"{base}/huge,dandelion",
            f"{base}/photos/fake.jpg,grass",
        ]
        listing = tmp_path / "incoming.csv"
        listing.write_text("\n".join(lines) + "\n")
        env = {"GREENR_DOWNLOAD_TIMEOUT_SECONDS": "1", "GREENR_DOWNLOAD_RETRIES": "1"}
        first = ingest(str(listing), env)
        assert "new: 24, unchanged: 0, rejected: 6" in first
        assert "download_failed: 5" in first
        assert "not_an_image: 1" in first  # the same screening and quarantine as every source
        engine = local_catalog()
        version = latest_dataset_version(engine)
        assert version is not None
        assert sum(sum(c.values()) for c in version.counts.values()) == 24
        assert table_counts(engine)["rejections"] == 6
        # Every failed URL is recorded with its own reason.
        with Session(engine) as session:
            details = {r.source_path: r.detail for r in session.scalars(select(schema.Rejection))}
        assert details[f"{base}/missing"].startswith("HTTP 404")
        assert "text/html" in details[f"{base}/html"]
        assert "redirects" in details[f"{base}/loop"]
        assert "timed out" in details[f"{base}/slow"]
        # Cut off at the 20 MB size limit, or at the 1 s time limit on a busy machine (the size
        # limit alone: tests/unit/ingestion/test_sources.py).
        assert "download aborted" in details[f"{base}/huge"]
    # A second run on the same list stages the same paths (tests/unit/ingestion/test_sources.py),
    # which the S3 test above shows ingest as unchanged: not repeated here, to save a run.


def test_a_missing_url_list_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_python(["run.py", "--pipeline", "ingestion", "--source", str(tmp_path / "no.csv")], {})
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: URL list {tmp_path / 'no.csv'} does not exist")
    )
