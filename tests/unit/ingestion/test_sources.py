"""Sources other than a folder: URL lists downloaded from a real local HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from photo_factory import jpeg_bytes, photo
from photo_server import Served, photo_server

from greenr.dataset.records import RejectReason
from greenr.ingestion.downloads import Downloaded, DownloadFailed, DownloadPolicy, download_all
from greenr.ingestion.scan import SourceError
from greenr.ingestion.sources import read_url_list, source_kind, stage_urls
from greenr.settings import DEFAULT_SOURCE

LABELS = ("dandelion", "grass")
POLICY = DownloadPolicy(max_bytes=1_000_000, total_seconds=1.0, retries=1, workers=4, backoff_seconds=0.05)


def served_photos() -> Served:
    return Served(
        photos={**{f"p{i}.jpg": jpeg_bytes(photo(i)) for i in range(4)}, "flaky": jpeg_bytes(photo(9))}
    )


def test_source_kind_reads_the_value() -> None:
    assert source_kind("s3://bucket/incoming/") == "s3"
    assert source_kind("lists/photos.csv") == "urls"
    assert source_kind("../shared/data/greenr") == "folder"


def test_every_failure_has_its_own_reason_and_photos_arrive() -> None:
    served = served_photos()
    with photo_server(served) as base:
        urls = [
            f"{base}/photos/p0.jpg",
            f"{base}/missing",
            f"{base}/slow",
            f"{base}/html",
            f"{base}/huge",
            f"{base}/loop",
            f"{base}/flaky",
            "ftp://example.org/a.jpg",
        ]
        results = download_all(urls, POLICY)
    ok, flaky = results[0], results[6]
    assert isinstance(ok, Downloaded)
    assert ok.data == served.photos["p0.jpg"]
    assert isinstance(flaky, Downloaded)
    assert flaky.data == served.photos["flaky"]
    details = {
        name: result.detail
        for name, result in zip(
            ("missing", "slow", "html", "huge", "loop", "ftp"), [*results[1:6], results[7]], strict=True
        )
        if isinstance(result, DownloadFailed)
    }
    assert set(details) == {"missing", "slow", "html", "huge", "loop", "ftp"}
    assert details["missing"].startswith("HTTP 404")
    assert "timed out" in details["slow"]
    assert "after 2 attempts" in details["slow"]
    assert "text/html" in details["html"]
    assert "exceeds the limit of 1000000 bytes" in details["huge"]
    assert "redirects" in details["loop"]
    assert "not an http(s) URL" in details["ftp"]
    # A 404 is final: asked once; a timeout is retried (1 retry).
    assert served.requests.count("/missing") == 1
    assert served.requests.count("/slow") == 2
    assert served.requests.count("/flaky") == 2


def test_a_list_is_staged_by_label_with_failures_recorded(tmp_path: Path) -> None:
    served = served_photos()
    with photo_server(served) as base:
        listing = tmp_path / "photos.csv"
        listing.write_text(
            "url,label\n"
            f"{base}/photos/p0.jpg,dandelion\n"
            f"{base}/photos/p1.jpg,grass\n"
            f"{base}/photos/p1.jpg,grass\n"
            f"{base}/missing,grass\n"
            "\n# a comment\n"
        )
        staged = stage_urls(listing, tmp_path / "staging", LABELS, POLICY)
        again = stage_urls(listing, tmp_path / "staging", LABELS, POLICY)
    files = sorted(str(p.relative_to(staged.folder)) for p in staged.folder.rglob("*.jpg"))
    assert [name.split("/")[0] for name in files] == ["dandelion", "grass"]
    assert again.folder == staged.folder  # the same list stages to the same paths: re-runs are unchanged
    assert sorted(str(p.relative_to(again.folder)) for p in again.folder.rglob("*.jpg")) == files
    origins = json.loads((staged.folder / "origins.json").read_text())
    assert sorted(origins.values()) == [f"{base}/photos/p0.jpg", f"{base}/photos/p1.jpg"]
    [failure] = staged.rejections
    assert failure.reason == RejectReason.DOWNLOAD_FAILED
    assert failure.path == f"{base}/missing"
    assert failure.label == "grass"
    assert failure.detail.startswith("HTTP 404")


def test_a_class_named_file_needs_no_label_column(tmp_path: Path) -> None:
    listing = tmp_path / "dandelion.csv"
    listing.write_text("https://example.org/a.jpg\n\nhttps://example.org/b.jpg\n")
    assert [(e.url, e.label) for e in read_url_list(listing, LABELS)] == [
        ("https://example.org/a.jpg", "dandelion"),
        ("https://example.org/b.jpg", "dandelion"),
    ]


@pytest.mark.parametrize("label", LABELS)
def test_the_reference_datasets_own_url_lists_are_read(label: str) -> None:
    # ../shared/data/greenr/<class>.csv, the lists the reference dataset was built from: one URL a
    # line with blank lines between, the class in the file name.
    entries = read_url_list(DEFAULT_SOURCE / f"{label}.csv", LABELS)
    assert len(entries) > 500
    assert {entry.label for entry in entries} == {label}
    assert all(entry.url.startswith(("http://", "https://")) for entry in entries)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("photos.csv", "https://example.org/a.jpg\n", "line 1: no label"),
        ("photos.csv", "https://example.org/a.jpg,daisy\n", "'daisy' is not a known class"),
        ("photos.csv", "url,label\n", "holds no URLs"),
    ],
)
def test_a_bad_list_is_a_one_line_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    listing = tmp_path / name
    listing.write_text(text)
    with pytest.raises(SourceError, match=message):
        read_url_list(listing, LABELS)
