"""The dataset-version artifact handed from ingestion to training."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine

from greenr.catalog.repository import get_dataset_version, latest_dataset_version


class DatasetVersion(BaseModel):
    """A recorded, stored dataset version: where to find it and what it holds."""

    id: str
    created_at: datetime
    counts: dict[str, dict[str, int]]
    parameters: dict[str, Any]
    manifest_uri: str
    store_root: str

    @property
    def manifest_key(self) -> str:
        """The manifest's key relative to the store root."""
        return self.manifest_uri.removeprefix(self.store_root).lstrip("/")

    @property
    def total(self) -> int:
        return sum(sum(per_split.values()) for per_split in self.counts.values())

    def split_totals(self) -> dict[str, int]:
        """Number of images per split, all classes together."""
        totals: dict[str, int] = {}
        for per_split in self.counts.values():
            for split, n in per_split.items():
                totals[split] = totals.get(split, 0) + n
        return totals


class DatasetVersionNotFound(LookupError):
    """No dataset version (or not the one asked for) exists in the catalog."""


def resolve_dataset_version(
    engine: Engine, store_root: str, store_uri: Callable[[str], str], version_id: str | None
) -> DatasetVersion:
    """The named dataset version, or the latest one; a clear error when there is none."""
    row = get_dataset_version(engine, version_id) if version_id else latest_dataset_version(engine)
    if row is None:
        if version_id:
            raise DatasetVersionNotFound(
                f"dataset version {version_id!r} is not in the catalog: check the id"
            )
        raise DatasetVersionNotFound(
            "the catalog has no dataset version: "
            "run the ingestion pipeline first (python run.py --pipeline ingestion)"
        )
    return DatasetVersion(
        id=row.id,
        created_at=row.created_at,
        counts=row.counts,
        parameters=row.parameters,
        manifest_uri=store_uri(row.manifest_key),
        store_root=store_root,
    )
