"""Scanning and screening: every bad file gets the right reason and the run goes on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from photo_factory import decompression_bomb_png, jpeg_bytes, make_dataset, mpo_bytes, photo, png_bytes, write
from PIL import Image

from greenr.catalog.repository import CatalogImage
from greenr.dataset.records import RejectReason
from greenr.dataset.rules import ImageRules
from greenr.ingestion.scan import SourceError, scan_source
from greenr.ingestion.screening import ScreeningPolicy, screen_files

LABELS = ("dandelion", "grass")
NOW = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.fixture
def policy() -> ScreeningPolicy:
    return ScreeningPolicy(rules=ImageRules.from_suite(), max_pixels=40_000_000, near_duplicate_distance=4)


def bad_files_folder(root: Path) -> dict[str, RejectReason]:
    """A source folder with good photos and one bad file of each kind; returns expected reasons."""
    make_dataset(root, per_class=3)
    original = photo(500, (320, 240))
    write(root / "grass" / "original.jpg", jpeg_bytes(original))
    bad = {
        "grass/zz-exact-copy.jpg": (jpeg_bytes(original), RejectReason.DUPLICATE),
        "grass/zz-near-copy.jpg": (jpeg_bytes(original.resize((300, 225)), 70), RejectReason.NEAR_DUPLICATE),
        "dandelion/corrupt.jpg": (jpeg_bytes(photo(501))[:700], RejectReason.CORRUPT),
        "dandelion/notes.jpg": (b"not an image, just text\n" * 30, RejectReason.NOT_AN_IMAGE),
        "dandelion/empty.jpg": (b"", RejectReason.EMPTY),
        "dandelion/tiny.png": (png_bytes(Image.new("RGB", (1, 1), "yellow")), RejectReason.FILE_TOO_SMALL),
        "dandelion/small-side.png": (png_bytes(photo(502, (300, 20))), RejectReason.TOO_SMALL),
        "dandelion/bomb.png": (decompression_bomb_png(), RejectReason.DECOMPRESSION_BOMB),
        "dandelion/anim.gif": (_gif(), RejectReason.UNSUPPORTED_FORMAT),
        "tulip/flower.jpg": (jpeg_bytes(photo(503)), RejectReason.UNKNOWN_CLASS),
    }
    for relative, (data, _) in bad.items():
        write(root / relative, data)
    write(root / "README.md", b"documentation at the top is ignored")
    return {str(root / relative): reason for relative, (_, reason) in bad.items()}


def _gif() -> bytes:
    import io

    buffer = io.BytesIO()
    photo(504).save(buffer, format="GIF")
    return buffer.getvalue()


def test_each_bad_file_is_rejected_with_its_reason(tmp_path: Path, policy: ScreeningPolicy) -> None:
    expected = bad_files_folder(tmp_path / "source")
    scan = scan_source(tmp_path / "source", LABELS)
    result = screen_files(scan.files, [], policy, NOW)
    got = {r.path: r.reason for r in scan.rejections + result.rejections}
    assert got == expected
    assert len(result.admitted) == 7  # 3 + 3 generated photos and the original
    assert all(r.detail for r in scan.rejections + result.rejections)


def test_what_is_not_a_regular_file_is_rejected_unread(tmp_path: Path) -> None:
    import os

    source = tmp_path / "source"
    make_dataset(source, per_class=2)
    os.mkfifo(source / "grass" / "pipe.jpg")  # reading it would wait forever for a writer
    (source / "dandelion" / "zeros.jpg").symlink_to("/dev/zero")  # reading it would never end
    (source / "dandelion" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (source / "dandelion" / "photos").symlink_to(source / "grass", target_is_directory=True)
    scan = scan_source(source, LABELS)
    refused = {Path(r.path).name: r for r in scan.rejections}
    assert set(refused) == {"pipe.jpg", "zeros.jpg", "gone.jpg"}
    assert {r.reason for r in refused.values()} == {RejectReason.NOT_A_FILE}
    assert refused["gone.jpg"].detail.startswith("a broken symbolic link")
    assert refused["zeros.jpg"].detail.startswith("not a regular file")
    assert refused["pipe.jpg"].label == "grass"
    assert refused["zeros.jpg"].sha256 is None  # never read, so never quarantined
    assert len(scan.files) == 4


def test_duplicate_detail_names_the_first_copy(tmp_path: Path, policy: ScreeningPolicy) -> None:
    bad_files_folder(tmp_path / "source")
    scan = scan_source(tmp_path / "source", LABELS)
    result = screen_files(scan.files, [], policy, NOW)
    duplicate = next(r for r in result.rejections if r.reason == RejectReason.DUPLICATE)
    assert "original.jpg" in duplicate.detail


def test_metadata_of_an_admitted_image(tmp_path: Path, policy: ScreeningPolicy) -> None:
    path = write(tmp_path / "source" / "grass" / "a.jpg", jpeg_bytes(photo(9, (321, 123))))
    result = screen_files(scan_source(tmp_path / "source", LABELS).files, [], policy, NOW)
    (record,) = result.admitted
    assert (record.label, record.format, record.mode, record.width, record.height) == (
        "grass",
        "JPEG",
        "RGB",
        321,
        123,
    )
    assert record.bytes == path.stat().st_size
    assert len(record.sha256) == 64
    assert len(record.phash) == 16
    assert record.ingested_at == NOW


def test_files_already_in_the_catalog_are_unchanged_not_duplicates(
    tmp_path: Path, policy: ScreeningPolicy
) -> None:
    make_dataset(tmp_path / "source", per_class=2)
    files = scan_source(tmp_path / "source", LABELS).files
    first = screen_files(files, [], policy, NOW)
    catalog = [CatalogImage(record=r, split="train", object_key="raw/x") for r in first.admitted]
    again = screen_files(files, catalog, policy, NOW)
    assert (again.admitted, again.rejections) == ([], [])
    assert sorted(again.unchanged) == sorted(r.sha256 for r in first.admitted)


def test_oversized_file_is_refused_without_being_read(tmp_path: Path) -> None:
    rules = ImageRules.from_suite()
    small_limit = ScreeningPolicy(
        rules=ImageRules(
            allowed_formats=rules.allowed_formats,
            allowed_modes=rules.allowed_modes,
            min_side=rules.min_side,
            min_bytes=rules.min_bytes,
            max_bytes=5_000,
            labels=rules.labels,
        ),
        max_pixels=40_000_000,
        near_duplicate_distance=4,
    )
    write(tmp_path / "source" / "grass" / "big.jpg", b"\xff" * 6_000)
    result = screen_files(scan_source(tmp_path / "source", LABELS).files, [], small_limit, NOW)
    (rejection,) = result.rejections
    assert rejection.reason == RejectReason.FILE_TOO_LARGE
    assert rejection.sha256 is None


def test_missing_class_folder_is_reported(tmp_path: Path) -> None:
    make_dataset(tmp_path / "source", per_class=2, labels=("dandelion",))
    assert scan_source(tmp_path / "source", LABELS).missing_labels == ["grass"]


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_unusable_source_folder_is_a_clear_error(tmp_path: Path, make: str) -> None:
    source = tmp_path / "source"
    if make == "file":
        source.write_text("x")
    elif make == "empty":
        source.mkdir()
    with pytest.raises(SourceError, match=str(source)):
        scan_source(source, LABELS)


def test_a_multi_picture_jpeg_is_admitted_as_a_jpeg(tmp_path: Path, policy: ScreeningPolicy) -> None:
    """Phone cameras add an MPF segment (Pillow: MPO); it was refused as an unsupported format."""
    write(tmp_path / "source" / "dandelion" / "phone.jpg", mpo_bytes(photo(10, (400, 300)), photo(11)))
    result = screen_files(scan_source(tmp_path / "source", LABELS).files, [], policy, NOW)
    assert result.rejections == []
    (record,) = result.admitted
    assert (record.format, record.width, record.height) == ("JPEG", 400, 300)


@pytest.mark.parametrize(("split", "admitted"), [("test", False), ("train", True)])
def test_a_photo_close_to_a_closed_split_is_refused(tmp_path: Path, split: str, admitted: bool) -> None:
    make_dataset(tmp_path / "source", per_class=1)
    files = scan_source(tmp_path / "source", LABELS).files[:1]
    rules = ImageRules.from_suite()
    open_policy = ScreeningPolicy(rules=rules, max_pixels=40_000_000, near_duplicate_distance=4)
    (record,) = screen_files(files, [], open_policy, NOW).admitted
    # A catalogued look-alike 5 bits away: past the near-duplicate distance, inside the group distance.
    phash = f"{int(record.phash, 16) ^ 0b11111:016x}"
    look_alike = record.model_copy(update={"sha256": "0" * 64, "path": "/old/look-alike.jpg", "phash": phash})
    catalog = [CatalogImage(record=look_alike, split=split, object_key="raw/x")]
    policy = ScreeningPolicy(
        rules=rules,
        max_pixels=40_000_000,
        near_duplicate_distance=4,
        closed_splits=frozenset({"test"}),
        group_distance=6,
    )
    result = screen_files(files, catalog, policy, NOW)
    if admitted:
        assert [r.sha256 for r in result.admitted] == [record.sha256]
        return
    (rejection,) = result.rejections
    assert rejection.reason == RejectReason.NEAR_HELD_OUT
    assert rejection.sha256 == record.sha256
    assert "/old/look-alike.jpg of the test split" in rejection.detail
