"""What the ingestion DAG asks before running the pipeline: are there photos the catalog never judged?"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from photo_factory import jpeg_bytes, photo, write

from greenr.ingestion.landing import NOTHING_TO_DO, landing_hint, main, unjudged_photos

LABELS = ("dandelion", "grass")


def test_only_photos_with_unknown_content_are_pending(tmp_path: Path) -> None:
    seen = write(tmp_path / "grass" / "seen.jpg", jpeg_bytes(photo(1)))
    new = write(tmp_path / "dandelion" / "new.jpg", jpeg_bytes(photo(2)))
    renamed_copy = write(tmp_path / "grass" / "renamed.jpg", seen.read_bytes())
    write(tmp_path / "daisy" / "other.jpg", jpeg_bytes(photo(3)))  # not a class: the scan's business
    write(tmp_path / "grass" / ".DS_Store", b"finder")
    known = {hashlib.sha256(seen.read_bytes()).hexdigest()}
    assert renamed_copy.exists()
    assert unjudged_photos(tmp_path, ("dandelion", "grass"), known) == [new]


def test_an_empty_or_missing_landing_area_has_nothing_pending(tmp_path: Path) -> None:
    assert unjudged_photos(tmp_path / "nowhere", ("dandelion", "grass"), set()) == []


def test_a_missing_folder_or_photos_outside_the_label_folders_get_a_hint(tmp_path: Path) -> None:
    missing = landing_hint(tmp_path / "landnig", LABELS)
    assert missing is not None
    assert "landnig does not exist" in missing
    assert f"{tmp_path / 'landnig' / 'dandelion'}/" in missing
    for index in range(5):
        write(tmp_path / "landing" / f"photo{index}.jpg", jpeg_bytes(photo(index)))
    write(tmp_path / "landing" / ".DS_Store", b"finder")
    stray = landing_hint(tmp_path / "landing", LABELS)
    assert stray is not None
    assert "5 file(s)" in stray
    assert "photo0.jpg, photo1.jpg, photo2.jpg and 2 more" in stray
    # Photos where ingestion reads them: nothing to say, even when none is new.
    for index in range(5):
        (tmp_path / "landing" / f"photo{index}.jpg").unlink()
    write(tmp_path / "landing" / "grass" / "a.jpg", jpeg_bytes(photo(9)))
    assert landing_hint(tmp_path / "landing", LABELS) is None


def test_pending_skips_and_says_why_in_the_task_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pending", str(tmp_path / "nowhere")]) == NOTHING_TO_DO
    out, err = capsys.readouterr()
    assert out.strip() == "none"  # no dataset version yet
    assert "nothing to ingest: the landing folder" in err
    assert "does not exist" in err
