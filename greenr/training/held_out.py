"""The dataset version's splits as arrays: the test split is read once per training run and passed
on as an artifact (materializers/split_arrays_materializer.py) to training, evaluation and the gate."""

from __future__ import annotations

from greenr.contracts import LABELS, Split
from greenr.resources import object_store
from greenr.settings import Settings
from greenr.training.data import SplitArrays, load_split_arrays, read_manifest


def load_splits(
    settings: Settings, version_id: str, size: int, splits: tuple[Split, ...]
) -> dict[str, SplitArrays]:
    """The named splits of a dataset version, decoded and resized to `size` as the server does."""
    store = object_store(settings)
    manifest = read_manifest(store, version_id)
    members = [member for member in manifest.members if member.split in splits]
    manifest = manifest.model_copy(update={"members": members})
    return load_split_arrays(
        store,
        manifest,
        size,
        labels=LABELS,
        max_pixels=settings.max_image_pixels,
        draft_margin=settings.jpeg_draft_margin,
    )


def load_test_split(settings: Settings, version_id: str, size: int) -> SplitArrays:
    """The test split of a dataset version at input size `size`."""
    return load_splits(settings, version_id, size, ("test",))["test"]
