"""Turning candidate files into admitted ImageRecords or Rejections with a reason.

Each file is judged on its own bytes (size, decoding, format, dimensions) and against what is
already known (exact and near duplicates among the catalog and earlier files of the same run).
Nothing here raises for a bad file: a bad file is data, not an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from greenr.catalog.repository import CatalogImage
from greenr.dataset.records import ImageRecord, Rejection, RejectReason
from greenr.dataset.rules import ImageRules
from greenr.images.decoding import ImageDecodeError, decode_image
from greenr.images.perceptual_hash import dhash, distances_to, hashes_to_array
from greenr.ingestion.scan import SourceFile


@dataclass(frozen=True)
class ScreeningPolicy:
    """Thresholds of screening: the GE suite's rules plus limits that are not data expectations."""

    rules: ImageRules
    max_pixels: int
    near_duplicate_distance: int
    # Splits the source may not place images in, and how close (dHash bits) a new image may come
    # to a catalogued image of one: closer, and the splitter would have to put it there (its group).
    closed_splits: frozenset[str] = frozenset()
    group_distance: int = 0


@dataclass
class ScreeningResult:
    """Outcome of screening one scan."""

    admitted: list[ImageRecord] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # sha256 of files already in the catalog
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class _Known:
    """Hashes seen so far: the catalog's and this run's admitted images."""

    by_sha: dict[str, tuple[str, str]]  # sha256 -> (source path, label)
    phashes: list[str]
    paths: list[str]
    shas: list[str]
    packed: npt.NDArray[np.uint64] = field(init=False)

    def __post_init__(self) -> None:
        self.packed = hashes_to_array(self.phashes)

    def add(self, record: ImageRecord) -> None:
        self.by_sha[record.sha256] = (record.path, record.label)
        self.phashes.append(record.phash)
        self.paths.append(record.path)
        self.shas.append(record.sha256)
        self.packed = np.append(self.packed, np.uint64(int(record.phash, 16)))

    def nearest(self, phash: str) -> tuple[int, str] | None:
        distances = distances_to(phash, self.packed)
        if distances.size == 0:
            return None
        index = int(distances.argmin())
        return int(distances[index]), self.paths[index]


def screen_files(
    files: Sequence[SourceFile],
    catalog: Sequence[CatalogImage],
    policy: ScreeningPolicy,
    now: datetime,
) -> ScreeningResult:
    """Screen files in the given order (callers sort them, so results are deterministic)."""
    known = _Known(
        by_sha={image.sha256: (image.record.path, image.record.label) for image in catalog},
        phashes=[image.record.phash for image in catalog],
        paths=[image.record.path for image in catalog],
        shas=[image.sha256 for image in catalog],
    )
    closed = [image for image in catalog if image.split in policy.closed_splits]
    closed_hashes = hashes_to_array([image.record.phash for image in closed])
    result = ScreeningResult()
    for source in files:
        outcome = _screen_one(source, known, policy, now)
        if isinstance(outcome, ImageRecord) and closed:
            outcome = _refuse_near_closed(outcome, closed, closed_hashes, policy.group_distance)
        if isinstance(outcome, ImageRecord):
            result.admitted.append(outcome)
            known.add(outcome)
        elif isinstance(outcome, Rejection):
            result.rejections.append(outcome)
        else:
            result.unchanged.append(outcome)
    return result


def with_content_hashes(rejections: Sequence[Rejection], max_bytes: int) -> list[Rejection]:
    """Add the sha256 to rejections found without reading the file, so they can be quarantined."""
    hashed = []
    for rejection in rejections:
        path = Path(rejection.path)
        if rejection.sha256 is None and path.is_file() and path.stat().st_size <= max_bytes:
            rejection = rejection.model_copy(update={"sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        hashed.append(rejection)
    return hashed


def _refuse_near_closed(
    record: ImageRecord,
    closed: Sequence[CatalogImage],
    closed_hashes: npt.NDArray[np.uint64],
    group_distance: int,
) -> ImageRecord | Rejection:
    """The record, or its refusal when it looks like a catalogued image of a closed split."""
    distances = distances_to(record.phash, closed_hashes)
    index = int(distances.argmin())
    if int(distances[index]) > group_distance:
        return record
    other = closed[index]
    return Rejection(
        path=record.path,
        reason=RejectReason.NEAR_HELD_OUT,
        detail=f"looks like {other.record.path} of the {other.split} split (perceptual hash distance "
        f"{int(distances[index])} <= {group_distance}), which this source may not join: a person should "
        "check it",
        label=record.label,
        sha256=record.sha256,
    )


def _screen_one(
    source: SourceFile, known: _Known, policy: ScreeningPolicy, now: datetime
) -> ImageRecord | Rejection | str:
    rules = policy.rules
    path = str(source.path)

    def reject(reason: RejectReason, detail: str, sha: str | None = None) -> Rejection:
        return Rejection(path=path, reason=reason, detail=detail, label=source.label, sha256=sha)

    size = source.path.stat().st_size
    if size == 0:
        return reject(RejectReason.EMPTY, "the file is empty (0 bytes)", hashlib.sha256(b"").hexdigest())
    if size > rules.max_bytes:
        # Not read at all: a huge file must not be loaded into memory to be refused.
        return reject(RejectReason.FILE_TOO_LARGE, f"{size} bytes exceeds the limit of {rules.max_bytes}")
    data = source.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if size < rules.min_bytes:
        return reject(
            RejectReason.FILE_TOO_SMALL, f"{size} bytes is below the minimum of {rules.min_bytes}", sha
        )
    if sha in known.by_sha:
        first_path, first_label = known.by_sha[sha]
        if first_path == path and first_label == source.label:
            return sha
        return reject(RejectReason.DUPLICATE, f"same content as {first_path} (label {first_label})", sha)
    try:
        decoded = decode_image(data, policy.max_pixels)
    except ImageDecodeError as error:
        return reject(RejectReason(error.reason), str(error), sha)
    if decoded.format not in rules.allowed_formats:
        allowed = ", ".join(sorted(rules.allowed_formats))
        return reject(
            RejectReason.UNSUPPORTED_FORMAT, f"format {decoded.format} is not one of {allowed}", sha
        )
    if decoded.mode not in rules.allowed_modes:
        allowed = ", ".join(sorted(rules.allowed_modes))
        return reject(
            RejectReason.UNSUPPORTED_FORMAT, f"colour mode {decoded.mode} is not one of {allowed}", sha
        )
    if min(decoded.width, decoded.height) < rules.min_side:
        return reject(
            RejectReason.TOO_SMALL,
            f"{decoded.width}x{decoded.height} px: the short side is below {rules.min_side} px",
            sha,
        )
    phash = dhash(decoded.image)
    nearest = known.nearest(phash)
    if nearest is not None and nearest[0] <= policy.near_duplicate_distance:
        distance, other = nearest
        return reject(
            RejectReason.NEAR_DUPLICATE,
            f"looks like {other} (perceptual hash distance {distance} <= {policy.near_duplicate_distance})",
            sha,
        )
    return ImageRecord(
        path=path,
        label=source.label,
        format=decoded.format,
        mode=decoded.mode,
        width=decoded.width,
        height=decoded.height,
        bytes=size,
        sha256=sha,
        phash=phash,
        ingested_at=now,
    )
