"""Where each kind of dataset object lives in the store (the roadmap's bucket layout).

The models/ prefix belongs to the model code: greenr.training.layout, greenr.deployment.artifact.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from greenr.dataset.records import ImageRecord, Rejection


def raw_key(record: ImageRecord) -> str:
    """Original bytes of an admitted image, addressed by content."""
    return f"raw/{record.sha256}.{record.extension}"


def split_key(record: ImageRecord, split: str) -> str:
    """Copy of an admitted image under its split and class, e.g. train/grass/<sha>.jpg."""
    return f"{split}/{record.label}/{record.sha256}.{record.extension}"


def quarantine_key(rejection: Rejection) -> str | None:
    """Where a refused file's bytes are kept for inspection; None when they were not read."""
    if rejection.sha256 is None:
        return None
    suffix = re.sub(r"[^a-z0-9]", "", PurePath(rejection.path).suffix.lower()) or "bin"
    return f"quarantine/{rejection.reason}/{rejection.sha256}.{suffix}"


def manifest_key(version_id: str) -> str:
    """The manifest of a dataset version: every member with its label, split and keys."""
    return f"processed/datasets/{version_id}.json"
