"""The human summary of an ingestion run: counts, sizes, rejections with reasons."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

from greenr.dataset.records import ImageRecord, Rejection
from greenr.ingestion.dataset_plan import ScreenedImages
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.ingestion.store_objects import StoredObjects


class SizeStats(BaseModel):
    """min / median / max of one measure."""

    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> SizeStats:
        if not values:
            return cls(min=0, median=0, max=0)
        return cls(min=min(values), median=statistics.median(values), max=max(values))


class IngestionSummary(BaseModel):
    """Everything a person wants to know after an ingestion run."""

    dataset_version: str
    source: str
    new_images: int
    unchanged_images: int
    counts: dict[str, dict[str, int]]
    width: SizeStats
    height: SizeStats
    file_bytes: SizeStats
    rejections: list[Rejection]
    missing_labels: list[str]
    objects_written: int
    store_root: str
    manifest_uri: str
    catalog_rows_inserted: dict[str, int]

    @property
    def total_images(self) -> int:
        return sum(sum(per_split.values()) for per_split in self.counts.values())

    @property
    def rejections_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(str(r.reason) for r in self.rejections).items()))


def size_stats(records: Sequence[ImageRecord]) -> tuple[SizeStats, SizeStats, SizeStats]:
    """Width, height and file-size statistics of the dataset's images."""
    return (
        SizeStats.of([r.width for r in records]),
        SizeStats.of([r.height for r in records]),
        SizeStats.of([r.bytes for r in records]),
    )


def render_summary(summary: IngestionSummary) -> str:
    """Plain-text summary for the console."""
    splits = ("train", "validation", "test")
    lines = [
        f"Dataset version {summary.dataset_version}  ({summary.total_images} images)",
        f"  source: {summary.source}",
        f"  new: {summary.new_images}, unchanged: {summary.unchanged_images}, "
        f"rejected: {len(summary.rejections)}",
        "",
        f"  {'class':<12}" + "".join(f"{s:>12}" for s in splits) + f"{'total':>10}",
    ]
    for label, per_split in summary.counts.items():
        row = "".join(f"{per_split.get(s, 0):>12}" for s in splits)
        lines.append(f"  {label:<12}{row}{sum(per_split.values()):>10}")
    totals = "".join(f"{sum(c.get(s, 0) for c in summary.counts.values()):>12}" for s in splits)
    lines.append(f"  {'all':<12}{totals}{summary.total_images:>10}")
    lines += [
        "",
        "  size       min     median        max",
        _stats_line("width px", summary.width),
        _stats_line("height px", summary.height),
        _stats_line("bytes", summary.file_bytes),
    ]
    if summary.missing_labels:
        lines += ["", f"  WARNING: no folder for class(es): {', '.join(summary.missing_labels)}"]
    if summary.rejections:
        lines += ["", "  rejected files:"]
        lines += [f"    {reason}: {n}" for reason, n in summary.rejections_by_reason.items()]
        lines += [f"    - {r.path}: {r.reason} ({r.detail})" for r in summary.rejections[:50]]
        if len(summary.rejections) > 50:
            lines.append(
                f"    ... and {len(summary.rejections) - 50} more (see the catalog's rejections table)"
            )
    lines += [
        "",
        f"  objects written: {summary.objects_written} under {summary.store_root}",
        f"  manifest: {summary.manifest_uri}",
        "  catalog rows inserted: " + ", ".join(f"{k}={v}" for k, v in summary.catalog_rows_inserted.items()),
    ]
    return "\n".join(lines)


def _stats_line(name: str, stats: SizeStats) -> str:
    return f"  {name:<9}{stats.min:>6.0f}{stats.median:>11.0f}{stats.max:>11.0f}"


def build_summary(
    screened: ScreenedImages,
    version: DatasetVersion,
    stored: StoredObjects,
    inserted: dict[str, int],
    dataset_records: Sequence[ImageRecord],
) -> IngestionSummary:
    """Assemble the summary from the pipeline's artifacts."""
    width, height, file_bytes = size_stats(dataset_records)
    return IngestionSummary(
        dataset_version=version.id,
        source=screened.source,
        new_images=len(screened.admitted),
        unchanged_images=len(screened.unchanged),
        counts=version.counts,
        width=width,
        height=height,
        file_bytes=file_bytes,
        rejections=screened.rejections,
        missing_labels=screened.missing_labels,
        objects_written=stored.written,
        store_root=stored.root,
        manifest_uri=stored.manifest_uri,
        catalog_rows_inserted=inserted,
    )
