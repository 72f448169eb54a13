"""The dataset-version artifact handed from ingestion to training."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DatasetVersion(BaseModel):
    """A recorded, stored dataset version: where to find it and what it holds."""

    id: str
    created_at: datetime
    counts: dict[str, dict[str, int]]
    parameters: dict[str, Any]
    manifest_uri: str
    store_root: str

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
