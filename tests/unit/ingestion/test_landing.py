"""What the ingestion DAG asks before running the pipeline: are there photos the catalog never judged?"""

from __future__ import annotations

import hashlib
from pathlib import Path

from photo_factory import jpeg_bytes, photo, write

from greenr.ingestion.landing import unjudged_photos


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
