"""The split-validation step's work: Great Expectations on a dataset version's splits."""

from __future__ import annotations

from greenr.catalog.repository import get_dataset_version, load_images
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.resources import catalog_engine
from greenr.settings import Settings
from greenr.validation.report import ValidationReport
from greenr.validation.split_validation import SplitMember, validate_dataset_splits


def validate_splits(settings: Settings, version: DatasetVersion, group_distance: int) -> ValidationReport:
    """Sizes, class balance, no image or near-duplicate in two splits."""
    engine = catalog_engine(settings)
    row = get_dataset_version(engine, version.id)
    if row is None:
        raise LookupError(f"dataset version {version.id} vanished from the catalog")
    images = {image.sha256: image.record for image in load_images(engine)}
    members = [
        SplitMember(sha256=sha, label=images[sha].label, split=split, phash=images[sha].phash)
        for sha, split in sorted(row.members.items())
    ]
    return validate_dataset_splits(members, group_distance)
