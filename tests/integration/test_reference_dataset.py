"""A fresh machine without ../shared/data/greenr: the reference archive is fetched and verified.

The archive is built in the test (tmp) from the 400 photos in ../shared, laid out like GitHub's
archive of btphan95/greenr-airflow, and served by a local HTTP server.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from cli_runner import run_python
from photo_server import Served, photo_server

from greenr.dataset.reference import ReferenceDatasetError, ensure_source, expected_sums
from greenr.settings import DEFAULT_SOURCE, load_settings

pytestmark = pytest.mark.integration
PREFIX = "greenr-airflow-82fc896ae71a910ca93bdaccd492630bae3ed1c3/data"


def reference_archive(corrupt: str | None = None) -> bytes:
    """A .tar.gz of the 400 photos (plus the repository's other files); `corrupt` flips a byte of one."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in sorted(expected_sums()):
            data = (DEFAULT_SOURCE / name).read_bytes()
            if name == corrupt:
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            info = tarfile.TarInfo(f"{PREFIX}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        readme = b"# greenr-airflow\n"
        info = tarfile.TarInfo(f"{PREFIX.split('/')[0]}/README.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    return buffer.getvalue()


def test_the_committed_list_matches_the_shared_photos() -> None:
    sums = expected_sums()
    assert len(sums) == 400
    on_disk = sorted(str(p.relative_to(DEFAULT_SOURCE)) for p in DEFAULT_SOURCE.glob("*/*.jpg"))
    assert sorted(sums) == on_disk


def test_a_missing_source_fetches_and_verifies_the_archive_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = Served(archive=reference_archive())
    with photo_server(served) as base:
        monkeypatch.setenv("GREENR_SOURCE_DIR", str(tmp_path / "no-dataset-here"))
        monkeypatch.setenv("GREENR_REFERENCE_DATASET_URL", f"{base}/archive")
        settings = load_settings()
        folder = ensure_source(settings)
        again = ensure_source(settings)
    assert folder == again == settings.home / "reference-dataset"
    assert len(list(folder.glob("*/*.jpg"))) == 400
    assert not (folder / "README.md").exists()
    assert served.requests == ["/archive"]  # the verified copy is reused, not fetched again


def test_an_existing_source_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_REFERENCE_DATASET_URL", "http://127.0.0.1:9/never-asked")
    assert ensure_source(load_settings()) == DEFAULT_SOURCE


@pytest.mark.parametrize("damage", ["corrupted photo", "corrupted download", "truncated download"])
def test_a_bad_archive_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    archive = reference_archive(corrupt="grass/00000007.jpg" if damage == "corrupted photo" else None)
    if damage == "truncated download":
        archive = archive[: len(archive) // 2]
    if damage == "corrupted download":  # bytes damaged in transit: the compressed stream itself
        middle = len(archive) // 2
        archive = (
            archive[:middle] + bytes(b ^ 0xFF for b in archive[middle : middle + 64]) + archive[middle + 64 :]
        )
    with photo_server(Served(archive=archive)) as base:
        monkeypatch.setenv("GREENR_SOURCE_DIR", str(tmp_path / "no-dataset-here"))
        monkeypatch.setenv("GREENR_REFERENCE_DATASET_URL", f"{base}/archive")
        settings = load_settings()
        with pytest.raises(ReferenceDatasetError):
            ensure_source(settings)
        result = run_python(["-m", "greenr.dataset.reference", "ensure"], dict(os.environ))
    assert not (settings.home / "reference-dataset").exists()
    assert [p.name for p in settings.home.iterdir()] == []  # no temporary folder left behind either
    assert result.returncode == 1
    assert result.stdout == ""  # the quickstart ingests what this prints: nothing
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: no photos at {tmp_path / 'no-dataset-here'}")
    assert "--source DIR" in line
    if damage == "corrupted download":
        # Where inflating the damaged stream fails decides which check refuses it: the stream's own
        # (a bad block or CRC), the tar headers', or the photos' sha256.
        assert any(why in line for why in ("corrupt or truncated", "do not match", "lacks")), line
    else:
        expected = (
            "do not match reference_sha256.txt" if damage == "corrupted photo" else "corrupt or truncated"
        )
        assert expected in line
