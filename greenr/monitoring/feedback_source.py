"""The feedback store as an ingestion source (`run.py --pipeline ingestion --source feedback`).

The API files each photo that got feedback under `feedback/<label>/<sha256>.<ext>` when its
answers agree or an admin decided (greenr/api/feedback_filing.py). Those photos are staged as
`<label>/<sha256>.<ext>`, a folder like any other source, and the normal pipeline judges them
(screening, Great Expectations, exact and near duplicates, quarantine). Three kinds of photo
never reach training from here:

- filed under the label the catalog already holds: training has seen it, it is skipped;
- filed under another label than the catalog's: the feedback says a training label is wrong;
  nothing is relabelled silently, a person decides (LABEL_CONFLICT);
- answers that disagree and filed nowhere, so no admin decided (FEEDBACK_DISPUTED).

Photos answered "neither" are filed under `open-set/neither/`, not `feedback/`: never staged, and
(being decided) never a dispute either.

The last two become rejections: the catalog records them with the reason and the quarantine keeps
their bytes, staged under `.review/` (hidden, so the scan never offers them as candidates).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.dataset.records import Rejection, RejectReason
from greenr.ingestion.scan import ScanResult
from greenr.ingestion.sources import (
    FEEDBACK_SOURCE,
    StagedSource,
    fresh_folder,
    scan_staged,
    staging_folder,
    write_origins,
)
from greenr.monitoring.feedback_labels import (
    FEEDBACK_PREFIX,
    OPEN_SET_PREFIX,
    catalog_labels,
    filed_feedback,
    filed_neither,
)
from greenr.storage.object_store import ObjectStore

REVIEW_FOLDER = ".review"


@dataclass(frozen=True)
class PhotoAnswers:
    """Every feedback answer given on the predictions of one photo, and where its bytes were kept."""

    labels: Counter[str]
    object_key: str | None


@dataclass
class FeedbackSorting:
    """Where each photo of the feedback store goes."""

    ingest: dict[str, str] = field(default_factory=dict)  # sha256 -> filed key
    known: list[str] = field(default_factory=list)  # sha256 the catalog holds under the filed label
    # sha256 -> (filed key, catalog label)
    conflicts: dict[str, tuple[str, str]] = field(default_factory=dict)
    disputes: dict[str, PhotoAnswers] = field(default_factory=dict)  # sha256 -> its answers


def filed_keys(keys: Collection[str], labels: Collection[str]) -> dict[str, str]:
    """sha256 -> key of the photos filed under `feedback/<label>/` (the shape feedback_labels reads)."""
    return {sha: key for key in sorted(keys) for sha in filed_feedback([key], labels)}


def sort_feedback(
    filed: Mapping[str, str],
    labels: Collection[str],
    catalogued: Mapping[str, str],
    answers: Mapping[str, PhotoAnswers],
    neither: Collection[str] = (),
) -> FeedbackSorting:
    """Sort the filed photos (sha256 -> key) and the answered ones into ingest, known, conflict, dispute.

    `neither`: the photos filed under `open-set/neither/` (their answers agreed, or an admin
    decided, that they show no class): decided, so never a dispute, and never ingested.
    """
    label_of = filed_feedback(filed.values(), labels)
    sorting = FeedbackSorting()
    for sha, key in sorted(filed.items()):
        held = catalogued.get(sha)
        if held is None:
            sorting.ingest[sha] = key
        elif held == label_of[sha]:
            sorting.known.append(sha)
        else:
            sorting.conflicts[sha] = (key, held)
    for sha, photo in sorted(answers.items()):
        # Filed means agreed or decided by an admin (the API's rule); unfiled and split is a dispute.
        if sha not in filed and sha not in neither and len(+photo.labels) > 1:
            sorting.disputes[sha] = photo
    return sorting


def feedback_answers(engine: Engine) -> dict[str, PhotoAnswers]:
    """sha256 -> the answers on all predictions of that photo (one count per answering key and prediction)."""
    query = select(schema.Prediction.sha256, schema.Prediction.object_key, schema.Feedback.label).join(
        schema.Feedback, schema.Feedback.prediction_id == schema.Prediction.id
    )
    counts: dict[str, Counter[str]] = {}
    keys: dict[str, str] = {}
    with Session(engine) as session:
        for sha, object_key, label in session.execute(query).tuples():
            counts.setdefault(sha, Counter())[label] += 1
            if object_key is not None:
                keys[sha] = object_key
    return {sha: PhotoAnswers(labels=labels, object_key=keys.get(sha)) for sha, labels in counts.items()}


def describe_answers(labels: Counter[str]) -> str:
    """'2 dandelion, 1 grass'."""
    return ", ".join(f"{count} {label}" for label, count in sorted(labels.items()))


def stage_feedback(
    store: ObjectStore, engine: Engine, staging_root: Path, labels: Collection[str]
) -> StagedSource:
    """Stage the feedback store's new photos as `<label>/<name>`; conflicts and disputes as rejections."""
    filed = filed_keys(store.existing_keys(FEEDBACK_PREFIX), labels)
    answers = feedback_answers(engine)
    neither = filed_neither(store.existing_keys(OPEN_SET_PREFIX))
    sorting = sort_feedback(filed, labels, catalog_labels(engine, filed), answers, neither)
    folder = fresh_folder(staging_folder(staging_root, FEEDBACK_SOURCE))
    origins: dict[str, str] = {}
    for key in sorting.ingest.values():
        relative = str(PurePosixPath(key).relative_to(FEEDBACK_PREFIX))
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.get(key))
        origins[relative] = store.uri(key)
    rejections: list[Rejection] = []
    for sha, (key, held) in sorting.conflicts.items():
        label = label_of_key(key)
        path = _stage_for_review(folder, store, key)
        if path is None:  # unfiled since the listing: nothing left to review
            continue
        origins[str(path.relative_to(folder))] = store.uri(key)
        rejections.append(
            Rejection(
                path=str(path),
                reason=RejectReason.LABEL_CONFLICT,
                detail=f"feedback files this photo as {label} ({store.uri(key)}) but the catalog holds it as "
                f"{held}: it is not relabelled silently, a person must decide which label is right",
                label=label,
                sha256=sha,
            )
        )
    for sha, photo in sorting.disputes.items():
        detail = (
            f"the answers on this photo disagree ({describe_answers(photo.labels)}) and no admin decided: "
            "an admin's answer (POST /feedback) files it"
        )
        staged = _stage_for_review(folder, store, photo.object_key) if photo.object_key else None
        if staged is not None:
            origins[str(staged.relative_to(folder))] = store.uri(str(photo.object_key))
        rejections.append(
            Rejection(
                path=str(staged or f"{FEEDBACK_SOURCE}:{sha}"),
                reason=RejectReason.FEEDBACK_DISPUTED,
                detail=detail if staged is not None else f"{detail} (its bytes are no longer kept)",
                sha256=sha if staged is not None else None,
            )
        )
    write_origins(folder, origins)
    return StagedSource(folder=folder, rejections=rejections)


def label_of_key(key: str) -> str:
    """The label folder of a key `feedback/<label>/<name>`."""
    return PurePosixPath(key).parts[1]


def _stage_for_review(folder: Path, store: ObjectStore, key: str) -> Path | None:
    """Copy one object under `.review/` so the quarantine keeps its bytes; None when it is gone."""
    try:
        data = store.get(key)
    except FileNotFoundError:
        return None
    target = folder / REVIEW_FOLDER / PurePosixPath(key).name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def scan_feedback(
    store: ObjectStore, engine: Engine, staging_root: Path, labels: Collection[str]
) -> ScanResult:
    """The feedback source as the pipeline's scan step returns it (empty is fine: nothing new)."""
    staged = stage_feedback(store, engine, staging_root, labels)
    if not any(path.is_file() for label in labels for path in (staged.folder / label).glob("*")):
        return ScanResult(source=FEEDBACK_SOURCE, files=[], rejections=staged.rejections, missing_labels=[])
    return scan_staged(FEEDBACK_SOURCE, staged, labels)
