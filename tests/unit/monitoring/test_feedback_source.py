"""The feedback store as an ingestion source: what is staged, what goes to review, and why."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from feedback_kit import NOW, file_feedback, keep_prediction, record_answers, sha_of
from photo_factory import jpeg_bytes, photo
from sqlalchemy import Engine, insert

from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine, migrate
from greenr.dataset.records import RejectReason
from greenr.monitoring.feedback_source import PhotoAnswers, filed_keys, scan_feedback, sort_feedback
from greenr.settings import Settings
from greenr.storage.object_store import ObjectStore, open_object_store, s3_options

LABELS = ("dandelion", "grass")


def answers(**labels: int) -> PhotoAnswers:
    return PhotoAnswers(labels=Counter(labels), object_key="predictions/x.jpg")


def test_filed_keys_keep_the_key_of_each_photo() -> None:
    keys = ["feedback/grass/bbb.png", "feedback/dandelion/aaa.jpg", "feedback/tulip/c.jpg", "predictions/a"]
    assert filed_keys(keys, LABELS) == {"aaa": "feedback/dandelion/aaa.jpg", "bbb": "feedback/grass/bbb.png"}


def test_each_photo_is_sorted_once() -> None:
    filed = {
        "new": "feedback/grass/new.jpg",
        "seen": "feedback/grass/seen.jpg",
        "relabelled": "feedback/dandelion/relabelled.jpg",
        "decided": "feedback/grass/decided.jpg",  # answers disagree, an admin filed it
    }
    catalogued = {"seen": "grass", "relabelled": "grass"}
    given = {
        "new": answers(grass=3),
        "decided": answers(grass=1, dandelion=2),
        "split": answers(grass=1, dandelion=1),
        "unfiled_agreed": answers(grass=2),  # the store missed it (best effort): not a dispute
    }
    sorting = sort_feedback(filed, LABELS, catalogued, given)
    assert sorting.ingest == {"decided": "feedback/grass/decided.jpg", "new": "feedback/grass/new.jpg"}
    assert sorting.known == ["seen"]
    assert sorting.conflicts == {"relabelled": ("feedback/dandelion/relabelled.jpg", "grass")}
    assert list(sorting.disputes) == ["split"]


def catalogue(engine: Engine, sha: str, label: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(schema.Image).values(
                sha256=sha,
                label=label,
                split="train",
                format="JPEG",
                mode="RGB",
                width=240,
                height=180,
                bytes=1,
                phash="0" * 16,
                source_path=f"{sha}.jpg",
                object_key=f"raw/{sha}.jpg",
                ingested_at=NOW,
            )
        )


def test_the_scan_stages_new_photos_and_sends_conflicts_and_disputes_to_review(tmp_path: Path) -> None:
    store: ObjectStore = open_object_store(str(tmp_path / "store"), s3_options(Settings()))
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    names = ("agreed", "relabelled", "disputed", "seen")
    photos = {name: jpeg_bytes(photo(seed)) for seed, name in enumerate(names)}
    shas = {name: sha_of(data) for name, data in photos.items()}
    for data in photos.values():
        keep_prediction(store, data)
    file_feedback(store, photos["agreed"], "dandelion")
    file_feedback(store, photos["relabelled"], "dandelion")
    file_feedback(store, photos["seen"], "grass")
    catalogue(engine, shas["relabelled"], "grass")
    catalogue(engine, shas["seen"], "grass")
    record_answers(engine, photos["agreed"], "grass", ["dandelion", "dandelion"])
    record_answers(engine, photos["disputed"], "grass", ["dandelion", "grass", "grass"])

    scan = scan_feedback(store, engine, tmp_path / "staging", LABELS)

    assert scan.source == "feedback"
    assert [(f.label, f.path.name) for f in scan.files] == [("dandelion", f"{shas['agreed']}.jpg")]
    by_reason = {r.reason: r for r in scan.rejections}
    assert set(by_reason) == {RejectReason.LABEL_CONFLICT, RejectReason.FEEDBACK_DISPUTED}
    conflict = by_reason[RejectReason.LABEL_CONFLICT]
    assert (conflict.sha256, conflict.label) == (shas["relabelled"], "dandelion")
    assert "catalog holds it as grass" in conflict.detail
    dispute = by_reason[RejectReason.FEEDBACK_DISPUTED]
    assert dispute.sha256 == shas["disputed"]
    assert "1 dandelion, 2 grass" in dispute.detail
    # The quarantine reads the bytes from the rejection's path: they are staged, outside the scan.
    for rejection in scan.rejections:
        assert Path(rejection.path).read_bytes() == store.get(f"predictions/{rejection.sha256}.jpg")
        assert "/.review/" in rejection.path


def test_an_empty_feedback_store_is_nothing_to_ingest_not_an_error(tmp_path: Path) -> None:
    store = open_object_store(str(tmp_path / "store"), s3_options(Settings()))
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    scan = scan_feedback(store, engine, tmp_path / "staging", LABELS)
    assert (scan.files, scan.rejections) == ([], [])


def test_photos_answered_neither_are_never_staged_nor_disputed(tmp_path: Path) -> None:
    """A photo whose answers say "neither" (all of them, or an admin's) is filed by the API under
    open-set/neither/: not a class, so never training data, and decided, so not a dispute."""
    from greenr.api.image_archive import ImageArchive

    store: ObjectStore = open_object_store(str(tmp_path / "store"), s3_options(Settings()))
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    archive = ImageArchive(store)
    photos = {name: jpeg_bytes(photo(seed)) for seed, name in enumerate(("tulip", "decided", "agreed"))}
    keys = {name: keep_prediction(store, data) for name, data in photos.items()}
    record_answers(engine, photos["tulip"], "neither", ["neither", "neither"])
    archive.refile(keys["tulip"], "neither")
    # Users split between grass and neither; an admin decided "neither".
    record_answers(engine, photos["decided"], "grass", ["grass", "neither"])
    archive.refile(keys["decided"], "neither")
    record_answers(engine, photos["agreed"], "grass", ["dandelion"])
    archive.refile(keys["agreed"], "dandelion")

    scan = scan_feedback(store, engine, tmp_path / "staging", LABELS)

    assert [(f.label, f.path.name) for f in scan.files] == [("dandelion", f"{sha_of(photos['agreed'])}.jpg")]
    assert scan.rejections == []
    assert sorted(store.existing_keys("open-set")) == sorted(
        f"open-set/neither/{sha_of(photos[name])}.jpg" for name in ("tulip", "decided")
    )
    assert not [key for key in store.existing_keys("feedback") if "/neither/" in key]
