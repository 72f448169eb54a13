"""How many confirmed labels the feedback store holds that training has not seen yet.

The API files each photo that got feedback under `feedback/<label>/<sha256>.<ext>` in the object
store, under one label or none (greenr/api/feedback_filing.py: disputes are filed nowhere). A
photo there is a *new* confirmed label when the catalog does not hold it yet (one it holds under
another label goes to review, not to training);
the retrain policy counts them (configs/monitoring.yaml, `retrain.min_new_labels`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import PurePosixPath
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.open_set.scorer import NEITHER
from greenr.storage.object_store import ObjectStore

FEEDBACK_PREFIX: Final = "feedback"
"""Where the API files the photos that got feedback, one folder per label (its one home)."""
OPEN_SET_PREFIX: Final = "open-set"
"""Where the API files the photos whose feedback says "neither" (`open-set/neither/<sha256>.<ext>`):
kept for calibrating open-set rejection, outside `FEEDBACK_PREFIX`, so never ingested as a class."""


def filed_feedback(keys: Collection[str], labels: Collection[str]) -> dict[str, str]:
    """sha256 -> label of the photos filed under `feedback/<label>/` (keys of other shapes are ignored)."""
    filed = {}
    for key in keys:
        parts = PurePosixPath(key).parts
        if len(parts) == 3 and parts[0] == FEEDBACK_PREFIX and parts[1] in labels:
            filed[PurePosixPath(parts[2]).stem] = parts[1]
    return filed


def filed_neither(keys: Collection[str]) -> set[str]:
    """sha256 of the photos filed under `open-set/neither/` (answered "neither": decided, not disputed)."""
    return {
        PurePosixPath(parts[2]).stem
        for parts in (PurePosixPath(key).parts for key in keys)
        if len(parts) == 3 and parts[0] == OPEN_SET_PREFIX and parts[1] == NEITHER
    }


def new_labels(filed: Mapping[str, str], catalogued: Mapping[str, str]) -> dict[str, str]:
    """The filed photos the catalog does not hold at all (sha256 -> label).

    A photo the catalog holds under another label is not a new label: the feedback source sends
    it to review (greenr/monitoring/feedback_source.py), never to training, so it must not
    trigger a retraining either.
    """
    return {sha: label for sha, label in filed.items() if sha not in catalogued}


def catalog_labels(engine: Engine, shas: Collection[str]) -> dict[str, str]:
    """sha256 -> label of those images the catalog holds."""
    if not shas:
        return {}
    with Session(engine) as session:
        query = select(schema.Image.sha256, schema.Image.label).where(schema.Image.sha256.in_(list(shas)))
        return dict(session.execute(query).tuples().all())


def count_new_confirmed_labels(store: ObjectStore, engine: Engine, labels: Collection[str]) -> int:
    """How many photos of the feedback store training has not seen under their confirmed label."""
    filed = filed_feedback(store.existing_keys(FEEDBACK_PREFIX), labels)
    return len(new_labels(filed, catalog_labels(engine, filed)))
