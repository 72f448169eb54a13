"""Where ingestion's photos come from: a folder, an S3 prefix, or a list of labelled URLs.

Every source ends as a local folder laid out `<label>/<name>`, which the folder scan, screening,
Great Expectations validation, deduplication and quarantine then treat like any other: one path
for all sources. Photos from S3 or URLs are staged under `<GREENR_HOME>/staging/<source id>/`
(emptied first, so the folder mirrors the source as it is now; a stable folder per source means a
second run sees the same paths and screening counts them as unchanged). What could not be fetched
comes back as Rejections with the URL and the reason.

    --source DIR                      one sub-folder per class
    --source s3://bucket/incoming/    objects under incoming/<class>/
    --source photos.csv               lines `url,label` (or just `url` in a file named <label>.csv)
    --source feedback                 the photos users labelled through the API (the object
                                      store's feedback prefix; greenr/monitoring/feedback_source.py)

Feedback photos join the train and validation splits only (`open_splits`): the test split stays
the same photos from one model version to the next, so test scores stay comparable.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from greenr.contracts import SPLITS
from greenr.dataset.records import Rejection, RejectReason
from greenr.ingestion.downloads import DownloadFailed, DownloadPolicy, download_all
from greenr.ingestion.scan import ScanResult, SourceError, scan_source
from greenr.settings import Settings
from greenr.storage.object_store import S3Options, StorageUnavailable, s3_filesystem, s3_options

URL_LIST_SUFFIXES = (".csv", ".txt")
ORIGINS_FILE = "origins.json"
# The --source value that names the feedback store (a folder of that name: pass ./feedback).
FEEDBACK_SOURCE = "feedback"
FEEDBACK_SPLITS: tuple[str, ...] = ("train", "validation")


@dataclass(frozen=True)
class StagedSource:
    """A local folder to scan, and what was refused before it could land there."""

    folder: Path
    rejections: list[Rejection] = field(default_factory=list)


def source_kind(source: str) -> str:
    """'feedback', 's3', 'urls' or 'folder': how a --source value is read."""
    if source == FEEDBACK_SOURCE:
        return "feedback"
    if source.startswith("s3://"):
        return "s3"
    if source.lower().endswith(URL_LIST_SUFFIXES):
        return "urls"
    return "folder"


def open_splits(source: str) -> tuple[str, ...]:
    """The splits new images of this source may join."""
    return FEEDBACK_SPLITS if source_kind(source) == "feedback" else SPLITS


def staging_folder(staging_root: Path, source: str) -> Path:
    """The stable staging folder of one source (same source, same folder, run after run)."""
    return staging_root / hashlib.sha256(source.encode()).hexdigest()[:16]


def fresh_folder(folder: Path) -> Path:
    """The folder, emptied (or created)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


# --- S3 prefix -----------------------------------------------------------------------------------


def stage_s3(source: str, staging_root: Path, options: S3Options, max_bytes: int) -> StagedSource:
    """Copy the objects under an s3:// prefix into the source's staging folder, keeping their keys.

    Objects larger than `max_bytes` are not downloaded: they are refused as too large here.
    """
    prefix = source.removeprefix("s3://").rstrip("/")
    fs = s3_filesystem(options)
    try:
        found = fs.find(prefix, detail=True, refresh=True)
    except FileNotFoundError:
        found = {}
    except Exception as error:
        raise StorageUnavailable(
            f"cannot list {source} ({type(error).__name__}: {error}): "
            "check AWS_ENDPOINT_URL_S3 and the AWS_* keys"
        ) from None
    if not found:
        example = f"{source.rstrip('/')}/<class>/photo.jpg"
        raise SourceError(f"{source} holds no objects: expected keys like {example}")
    folder = fresh_folder(staging_folder(staging_root, source))
    rejections: list[Rejection] = []
    origins: dict[str, str] = {}
    for key, info in sorted(found.items()):
        relative = str(key)[len(prefix) + 1 :]
        if not relative or any(part.startswith(".") for part in PurePosixPath(relative).parts):
            continue
        uri = f"s3://{key}"
        size = int(info.get("size") or info.get("Size") or 0)
        parts = PurePosixPath(relative).parts
        if size > max_bytes:
            rejections.append(
                Rejection(
                    path=uri,
                    reason=RejectReason.FILE_TOO_LARGE,
                    detail=f"{size} bytes exceeds the limit of {max_bytes}",
                    label=parts[0] if len(parts) > 1 else None,
                )
            )
            continue
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(bytes(fs.cat_file(str(key))))
        except Exception as error:
            raise StorageUnavailable(f"cannot read {uri} ({type(error).__name__}: {error})") from None
        origins[relative] = uri
    write_origins(folder, origins)
    return StagedSource(folder=folder, rejections=rejections)


# --- URL list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledUrl:
    """One line of a URL list."""

    url: str
    label: str


def read_url_list(path: Path, labels: Collection[str]) -> list[LabelledUrl]:
    """Lines `url,label`, or `url` alone when the file is named after a class (dandelion.csv).

    Blank lines, `#` comments and a `url,label` header are skipped; duplicate URLs are read once.
    """
    if not path.is_file():
        raise SourceError(f"URL list {path} does not exist: pass --source FILE.csv with lines 'url,label'")
    default_label = path.stem if path.stem in labels else None
    entries: dict[str, LabelledUrl] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            cells = [cell.strip() for cell in row]
            if not cells or not cells[0] or cells[0].startswith("#") or cells[0].lower() == "url":
                continue
            label = cells[1] if len(cells) > 1 and cells[1] else default_label
            if label is None:
                raise SourceError(
                    f"{path}, line {number}: no label: write 'url,label' or name the file <class>.csv"
                )
            if label not in labels:
                raise SourceError(
                    f"{path}, line {number}: {label!r} is not a known class ({', '.join(sorted(labels))})"
                )
            entries.setdefault(cells[0], LabelledUrl(cells[0], label))
    if not entries:
        raise SourceError(f"URL list {path} holds no URLs: expected lines 'url,label'")
    return list(entries.values())


def stage_urls(
    path: Path, staging_root: Path, labels: Collection[str], policy: DownloadPolicy
) -> StagedSource:
    """Download every URL of the list into `<staging>/<label>/<name>`; failures become Rejections."""
    entries = read_url_list(path, labels)
    folder = fresh_folder(staging_folder(staging_root, str(path.resolve())))
    results = download_all([entry.url for entry in entries], policy)
    rejections: list[Rejection] = []
    origins: dict[str, str] = {}
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, DownloadFailed):
            rejections.append(
                Rejection(
                    path=entry.url,
                    reason=RejectReason.DOWNLOAD_FAILED,
                    detail=result.detail,
                    label=entry.label,
                )
            )
            continue
        name = _file_name(entry.url, result.content_type)
        (folder / entry.label).mkdir(exist_ok=True)
        (folder / entry.label / name).write_bytes(result.data)
        origins[f"{entry.label}/{name}"] = entry.url
    write_origins(folder, origins)
    return StagedSource(folder=folder, rejections=rejections)


def _file_name(url: str, content_type: str) -> str:
    """A stable name per URL: a hash of the URL (query strings make poor names) plus a suffix."""
    subtype = re.sub(r"[^a-z0-9]", "", content_type.split("/", 1)[-1]) or "bin"
    suffix = {"jpeg": "jpg", "pjpeg": "jpg"}.get(subtype, subtype)
    return f"{hashlib.sha256(url.encode()).hexdigest()[:20]}.{suffix}"


def write_origins(folder: Path, origins: dict[str, str]) -> None:
    # At the top of the folder: the scan ignores top-level files, and a person can trace a photo.
    (folder / ORIGINS_FILE).write_text(json.dumps(origins, indent=1, sort_keys=True) + "\n")


# --- any source ----------------------------------------------------------------------------------


def stage_source(source: str, settings: Settings, labels: Collection[str], max_bytes: int) -> StagedSource:
    """The local folder to scan for a --source value (a folder is scanned where it is).

    The feedback store is staged by greenr.monitoring.feedback_source (it reads the API's answers).
    """
    kind = source_kind(source)
    if kind == "feedback":
        raise ValueError("the feedback source is staged by greenr.monitoring.feedback_source.scan_feedback")
    if kind == "s3":
        return stage_s3(source, settings.staging_path, s3_options(settings), max_bytes)
    if kind == "urls":
        policy = DownloadPolicy(
            max_bytes=max_bytes,
            total_seconds=settings.download_timeout_seconds,
            retries=settings.download_retries,
            workers=settings.download_workers,
        )
        return stage_urls(Path(source), settings.staging_path, labels, policy)
    return StagedSource(folder=Path(source))


def scan_any_source(source: str, settings: Settings, labels: Collection[str], max_bytes: int) -> ScanResult:
    """Stage the source, scan it like a folder, and add what could not be fetched to the rejections."""
    return scan_staged(source, stage_source(source, settings, labels, max_bytes), labels)


def scan_staged(source: str, staged: StagedSource, labels: Collection[str]) -> ScanResult:
    """Scan a staged source like a folder; what staging refused comes first among the rejections."""
    try:
        scan = scan_source(staged.folder, labels)
    except SourceError:
        if not staged.rejections:
            raise
        # Every URL failed: nothing to screen, but the failures are still the run's result.
        scan = ScanResult(source=source, files=[], rejections=[], missing_labels=sorted(labels))
    return scan.model_copy(update={"source": source, "rejections": staged.rejections + scan.rejections})
