"""From screened images to a dataset version: splits, counts, manifest."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from greenr.catalog.repository import CatalogImage
from greenr.contracts import SPLITS, SplitFractions
from greenr.dataset.records import ImageRecord, Rejection
from greenr.ingestion.layout import manifest_key, raw_key, split_key
from greenr.ingestion.split import SplitItem, assign_splits, dataset_version_id


class ScreenedImages(BaseModel):
    """Output of screening: what is new, what was already there, and what was refused."""

    source: str
    admitted: list[ImageRecord]
    unchanged: list[str]
    rejections: list[Rejection]
    missing_labels: list[str]


class DatasetMemberInfo(BaseModel):
    """One member of a dataset version, with its storage keys."""

    sha256: str
    label: str
    split: str
    key: str
    raw_key: str


class DatasetPlan(BaseModel):
    """A dataset version before it is stored and recorded."""

    version_id: str
    created_at: datetime
    members: list[DatasetMemberInfo]
    counts: dict[str, dict[str, int]]
    parameters: dict[str, Any]

    @property
    def manifest_key(self) -> str:
        return manifest_key(self.version_id)

    def split_of(self) -> dict[str, str]:
        return {member.sha256: member.split for member in self.members}


def plan_dataset(
    catalog: Sequence[CatalogImage],
    admitted: Sequence[ImageRecord],
    fractions: SplitFractions,
    seed: int,
    group_distance: int,
    now: datetime,
    open_splits: Collection[str] = SPLITS,
) -> DatasetPlan:
    """Assign splits to new images (old ones keep theirs) and describe the resulting version.

    New images go to `open_splits` only (the source's; see greenr.ingestion.sources.open_splits).
    """
    records = [image.record for image in catalog] + list(admitted)
    existing = {image.sha256: image.split for image in catalog}
    items = [SplitItem(sha256=r.sha256, label=r.label, phash=r.phash) for r in records]
    assignment = assign_splits(items, existing, fractions, seed, group_distance, open_splits)
    labels = {r.sha256: r.label for r in records}
    parameters: dict[str, Any] = {
        "fractions": {split: fractions.of(split) for split in SPLITS},
        "seed": seed,
        "group_distance": group_distance,
    }
    if set(SPLITS) - set(open_splits):
        parameters["open_splits"] = [split for split in SPLITS if split in open_splits]
    members = [
        DatasetMemberInfo(
            sha256=r.sha256,
            label=r.label,
            split=assignment[r.sha256],
            key=split_key(r, assignment[r.sha256]),
            raw_key=raw_key(r),
        )
        for r in sorted(records, key=lambda record: record.sha256)
    ]
    return DatasetPlan(
        version_id=dataset_version_id(assignment, labels),
        created_at=now,
        members=members,
        counts=count_by_label_and_split(members),
        parameters=parameters,
    )


def count_by_label_and_split(members: Sequence[DatasetMemberInfo]) -> dict[str, dict[str, int]]:
    """counts[label][split], with every split present."""
    counts: dict[str, dict[str, int]] = {}
    for member in members:
        per_label = counts.setdefault(member.label, dict.fromkeys(SPLITS, 0))
        per_label[member.split] += 1
    return dict(sorted(counts.items()))


def manifest_bytes(plan: DatasetPlan) -> bytes:
    """The manifest document written under processed/datasets/."""
    document = {
        "id": plan.version_id,
        "created_at": plan.created_at.isoformat(),
        "parameters": plan.parameters,
        "counts": plan.counts,
        "members": [member.model_dump() for member in plan.members],
    }
    return json.dumps(document, indent=1, sort_keys=True).encode()
