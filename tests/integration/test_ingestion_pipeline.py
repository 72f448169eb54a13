"""The ingestion pipeline end to end, through `python run.py`, on real services.

Each run is a subprocess: ZenML's configuration is process-global, and the CLI is what people use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import S3Service
from photo_factory import jpeg_bytes, make_dataset, photo, write

from greenr.catalog.database import open_catalog
from greenr.catalog.repository import latest_dataset_version, load_images, table_counts
from greenr.settings import DEFAULT_SOURCE
from greenr.storage.object_store import S3Options, open_object_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run_ingestion(
    env: Mapping[str, str], source: Path | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    command = ["run.py", "--pipeline", "ingestion", *args]
    if source is not None:
        command += ["--source", str(source)]
    return run_python(command, env)


def s3_env(s3: S3Service, prefix: str, database_url: str) -> dict[str, str]:
    return {
        "GREENR_LAKE_URI": prefix,
        "GREENR_DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL_S3": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        "GREENR_S3_TIMEOUT_SECONDS": "2",
    }


def s3_options(s3: S3Service) -> S3Options:
    return S3Options(s3.endpoint_url, s3.access_key_id, s3.secret_access_key, "us-east-1", 5.0)


def test_real_dataset_on_embedded_defaults_then_rerun_is_idempotent(tmp_path: Path) -> None:
    home = Path(os.environ["GREENR_HOME"])
    first = run_ingestion({})
    assert first.returncode == 0, first.stderr[-3000:]
    output = first.stdout + first.stderr
    assert "new: 400, unchanged: 0, rejected: 0" in output
    engine = open_catalog(f"sqlite:///{home / 'catalog.db'}")
    counts = table_counts(engine)
    assert counts == {"images": 400, "rejections": 0, "dataset_versions": 1, "dataset_members": 400}
    version = latest_dataset_version(engine)
    assert version is not None
    assert version.counts == {
        "dandelion": {"train": 140, "validation": 30, "test": 30},
        "grass": {"train": 140, "validation": 30, "test": 30},
    }
    lake = home / "lake"
    objects = sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file())
    assert len(objects) == 400 + 400 + 1  # originals, split copies, manifest
    assert f"processed/datasets/{version.id}.json" in objects

    second = run_ingestion({})
    assert second.returncode == 0, second.stderr[-3000:]
    assert "new: 0, unchanged: 400, rejected: 0" in second.stdout + second.stderr
    assert table_counts(engine) == counts
    assert sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file()) == objects


def test_postgres_and_seaweedfs_give_the_same_dataset(
    tmp_path: Path, postgres_url: str, s3_service: S3Service, s3_prefix: str
) -> None:
    source = make_dataset(tmp_path / "source", per_class=15)
    local = run_ingestion({}, source)
    assert local.returncode == 0, local.stderr[-3000:]
    local_version = latest_dataset_version(
        open_catalog(f"sqlite:///{Path(os.environ['GREENR_HOME']) / 'catalog.db'}")
    )

    # The second run on the local-s3 stack: ZenML's artifacts go to S3 too.
    env = {
        **s3_env(s3_service, s3_prefix, postgres_url),
        "GREENR_HOME": str(tmp_path / "home-s3"),
        "GREENR_S3_ARTIFACT_URI": f"{s3_prefix}/zenml",
    }
    stack = run_python(["-m", "stacks", "register", "--stack", "local-s3", "--activate", "local-s3"], env)
    assert stack.returncode == 0, stack.stderr[-2000:]
    remote = run_ingestion(env, source)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "Using stack: `local-s3`" in remote.stdout + remote.stderr
    engine = open_catalog(postgres_url)
    remote_version = latest_dataset_version(engine)
    assert local_version is not None
    assert remote_version is not None
    assert remote_version.id == local_version.id
    assert remote_version.members == local_version.members
    store = open_object_store(s3_prefix, s3_options(s3_service))
    assert len(store.existing_keys("raw")) == 30
    assert store.existing_keys("zenml")  # the run's ZenML artifacts, on the S3 artifact store
    assert store.get(remote_version.manifest_key).startswith(b"{")

    again = run_ingestion(env, source)
    assert again.returncode == 0, again.stderr[-3000:]
    assert table_counts(engine)["images"] == 30
    assert "objects written: 0" in again.stdout + again.stderr


def test_bad_files_are_recorded_quarantined_and_adding_images_adds_only_them(tmp_path: Path) -> None:
    """A bad file never stops the run; the next run on the same folder plus five new photos adds
    only them, keeps every split and records no rejection twice."""
    source = make_dataset(tmp_path / "source", per_class=12)
    write(source / "grass" / "broken.jpg", jpeg_bytes(photo(77))[:500])
    write(source / "grass" / "readme.jpg", b"plain text pretending to be a photo\n" * 10)
    write(source / "dandelion" / "empty.jpg", b"")
    write(source / "daisy" / "flower.jpg", jpeg_bytes(photo(78)))
    shutil.copy(source / "grass" / "00000.jpg", source / "dandelion" / "copy.jpg")
    result = run_ingestion({}, source)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "new: 24, unchanged: 0, rejected: 5" in output
    for reason in ("corrupt", "not_an_image", "empty", "unknown_class", "duplicate"):
        assert f"{reason}: 1" in output
    home = Path(os.environ["GREENR_HOME"])
    quarantined = {p.parent.name for p in (home / "lake" / "quarantine").rglob("*") if p.is_file()}
    assert quarantined == {"corrupt", "not_an_image", "empty", "unknown_class", "duplicate"}
    engine = open_catalog(f"sqlite:///{home / 'catalog.db'}")
    assert table_counts(engine)["rejections"] == 5

    before = {image.sha256: image.split for image in load_images(engine)}
    for i in range(5):
        label = ("grass", "dandelion")[i % 2]
        write(source / label / f"new-{i}.jpg", jpeg_bytes(photo(1000 + i)))
    again = run_ingestion({}, source)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "new: 5, unchanged: 24" in again.stdout + again.stderr
    after = {image.sha256: image.split for image in load_images(engine)}
    assert len(after) == 29
    assert all(after[sha] == split for sha, split in before.items())
    counts = table_counts(engine)
    assert (counts["rejections"], counts["dataset_versions"]) == (5, 2)


def test_s3_unreachable_gives_a_clear_error_and_no_rows(tmp_path: Path, postgres_url: str) -> None:
    source = make_dataset(tmp_path / "source", per_class=12)
    down = S3Service("http://127.0.0.1:9", "key", "secret", "greenr")
    result = run_ingestion(s3_env(down, "s3://greenr/lake", postgres_url), source)
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: object store s3://greenr/lake is unreachable")
    assert "scripts/services.sh start" in last_line
    assert table_counts(open_catalog(postgres_url)) == {
        "images": 0,
        "rejections": 0,
        "dataset_versions": 0,
        "dataset_members": 0,
    }


def test_validation_failure_stops_with_the_expectation_named(tmp_path: Path) -> None:
    source = make_dataset(tmp_path / "source", per_class=2)
    make_dataset(tmp_path / "more", per_class=20, labels=("grass",))
    for path in (tmp_path / "more" / "grass").iterdir():
        shutil.move(path, source / "grass" / f"more-{path.name}")
    result = run_ingestion({}, source)
    assert result.returncode == 1
    assert "expect_column_values_to_be_between(share)" in result.stderr
    engine = open_catalog(f"sqlite:///{Path(os.environ['GREENR_HOME']) / 'catalog.db'}")
    assert table_counts(engine)["images"] == 0


def test_missing_source_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_ingestion({}, tmp_path / "nowhere")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: source folder")


def test_default_source_is_the_shared_dataset() -> None:
    assert (DEFAULT_SOURCE / "dandelion").is_dir()
