"""Counting the confirmed labels of the feedback store that training has not seen yet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine, migrate
from greenr.monitoring.feedback_labels import (
    count_new_confirmed_labels,
    filed_feedback,
    filed_neither,
    new_labels,
)
from greenr.settings import Settings
from greenr.storage.object_store import open_object_store, s3_options

LABELS = ("dandelion", "grass")


def test_only_photos_under_a_known_label_folder_count() -> None:
    keys = [
        "feedback/dandelion/aaa.jpg",
        "feedback/grass/bbb.png",
        "feedback/tulip/ccc.jpg",  # not a label
        "feedback/ddd.jpg",  # not in a label folder
        "predictions/eee.jpg",
    ]
    assert filed_feedback(keys, LABELS) == {"aaa": "dandelion", "bbb": "grass"}


def test_a_photo_is_new_only_when_the_catalog_does_not_hold_it() -> None:
    filed = {"aaa": "dandelion", "bbb": "grass", "ccc": "grass"}
    # bbb was relabelled by feedback: it goes to review, not to training, so it is not new.
    catalogued = {"aaa": "dandelion", "bbb": "dandelion"}
    assert new_labels(filed, catalogued) == {"ccc": "grass"}


def test_count_reads_the_store_and_the_catalog(tmp_path: Path) -> None:
    store = open_object_store(str(tmp_path / "store"), s3_options(Settings()))
    for key in ("feedback/dandelion/aaa.jpg", "feedback/grass/bbb.jpg", "feedback/grass/ccc.jpg"):
        store.put(key, b"photo")
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    assert count_new_confirmed_labels(store, engine, LABELS) == 3
    with engine.begin() as connection:
        connection.execute(
            insert(schema.Image),
            [
                {
                    "sha256": "aaa",
                    "label": "dandelion",
                    "split": "train",
                    "format": "JPEG",
                    "mode": "RGB",
                    "width": 1,
                    "height": 1,
                    "bytes": 5,
                    "phash": "0" * 16,
                    "source_path": "a.jpg",
                    "object_key": "raw/aaa.jpg",
                    "ingested_at": datetime(2026, 11, 29, 10, tzinfo=UTC),
                }
            ],
        )
    assert count_new_confirmed_labels(store, engine, LABELS) == 2


def test_photos_answered_neither_are_not_confirmed_labels(tmp_path: Path) -> None:
    store = open_object_store(str(tmp_path / "store"), s3_options(Settings()))
    store.put("feedback/grass/bbb.jpg", b"photo")
    store.put("open-set/neither/ccc.jpg", b"tulip")
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    assert count_new_confirmed_labels(store, engine, LABELS) == 1
    assert filed_neither(store.existing_keys("open-set")) == {"ccc"}
    assert filed_feedback(["feedback/neither/ddd.jpg"], LABELS) == {}
