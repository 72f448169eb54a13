"""Reads and idempotent writes of the catalog; every write of one ingestion is one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.dataset.records import ImageRecord, Rejection

_CHUNK = 500


@dataclass(frozen=True)
class CatalogImage:
    """An admitted image as the catalog holds it."""

    record: ImageRecord
    split: str
    object_key: str

    @property
    def sha256(self) -> str:
        return self.record.sha256


@dataclass(frozen=True)
class NewImage:
    """An admitted image ready to be written, with its split and stored object."""

    record: ImageRecord
    split: str
    object_key: str


@dataclass(frozen=True)
class QuarantinedFile:
    """A rejection and, when its bytes were kept, the quarantine object key."""

    rejection: Rejection
    quarantine_key: str | None


@dataclass(frozen=True)
class DatasetVersionRow:
    """A dataset version and its members (sha256 -> split)."""

    id: str
    created_at: datetime
    manifest_key: str
    counts: dict[str, Any]
    parameters: dict[str, Any]
    members: dict[str, str]


def load_images(engine: Engine) -> list[CatalogImage]:
    """All admitted images, ordered by sha256."""
    with Session(engine) as session:
        rows = session.scalars(select(schema.Image).order_by(schema.Image.sha256))
        return [
            CatalogImage(
                record=ImageRecord(
                    path=r.source_path,
                    label=r.label,
                    format=r.format,
                    mode=r.mode,
                    width=r.width,
                    height=r.height,
                    bytes=r.bytes,
                    sha256=r.sha256,
                    phash=r.phash,
                    ingested_at=r.ingested_at,
                ),
                split=r.split,
                object_key=r.object_key,
            )
            for r in rows
        ]


def rejection_key(rejection: Rejection) -> str:
    """Stable identity of a rejection: the same file refused for the same reason is one row."""
    raw = f"{rejection.path}\0{rejection.reason}\0{rejection.sha256 or ''}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _insert_ignoring_existing(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite; returns rows inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    inserted = 0
    # Chunks keep each statement under the drivers' bound-parameter limits.
    for start in range(0, len(rows), _CHUNK):
        chunk = list(rows[start : start + _CHUNK])
        # RETURNING lists only the rows really inserted; rowcount is -1 for batched PostgreSQL inserts.
        statement = insert(table).values(chunk).on_conflict_do_nothing().returning(*table.primary_key.columns)
        inserted += len(session.execute(statement).all())
    return inserted


def write_ingestion(
    engine: Engine,
    images: Iterable[NewImage],
    rejections: Iterable[QuarantinedFile],
    version: DatasetVersionRow,
    now: datetime,
) -> dict[str, int]:
    """Record one ingestion atomically: all rows or none. Existing rows are left untouched."""
    image_rows = [
        {
            "sha256": item.record.sha256,
            "label": item.record.label,
            "split": item.split,
            "format": item.record.format,
            "mode": item.record.mode,
            "width": item.record.width,
            "height": item.record.height,
            "bytes": item.record.bytes,
            "phash": item.record.phash,
            "source_path": item.record.path,
            "object_key": item.object_key,
            "ingested_at": item.record.ingested_at,
        }
        for item in images
    ]
    rejection_rows = [
        {
            "key": rejection_key(item.rejection),
            "source_path": item.rejection.path,
            "reason": str(item.rejection.reason),
            "detail": item.rejection.detail,
            "label": item.rejection.label,
            "sha256": item.rejection.sha256,
            "quarantine_key": item.quarantine_key,
            "first_seen_at": now,
        }
        for item in rejections
    ]
    version_row = {
        "id": version.id,
        "created_at": version.created_at,
        "manifest_key": version.manifest_key,
        "counts": version.counts,
        "parameters": version.parameters,
    }
    member_rows = [
        {"version_id": version.id, "sha256": sha, "split": split} for sha, split in version.members.items()
    ]
    with Session(engine) as session, session.begin():
        inserted = {
            "images": _insert_ignoring_existing(session, schema.Image.__table__, image_rows),  # type: ignore[arg-type]
            "rejections": _insert_ignoring_existing(
                session,
                schema.Rejection.__table__,  # type: ignore[arg-type]
                rejection_rows,
            ),
            "dataset_versions": _insert_ignoring_existing(
                session,
                schema.DatasetVersion.__table__,  # type: ignore[arg-type]
                [version_row],
            ),
        }
        inserted["dataset_members"] = _insert_ignoring_existing(
            session,
            schema.DatasetMember.__table__,  # type: ignore[arg-type]
            member_rows,
        )
    return inserted


def latest_dataset_version(engine: Engine) -> DatasetVersionRow | None:
    """The most recently created dataset version, or None when ingestion never ran."""
    with Session(engine) as session:
        row = session.scalars(
            select(schema.DatasetVersion).order_by(schema.DatasetVersion.created_at.desc()).limit(1)
        ).first()
        return None if row is None else _version(session, row)


def get_dataset_version(engine: Engine, version_id: str) -> DatasetVersionRow | None:
    """A dataset version by id, or None."""
    with Session(engine) as session:
        row = session.get(schema.DatasetVersion, version_id)
        return None if row is None else _version(session, row)


def _version(session: Session, row: schema.DatasetVersion) -> DatasetVersionRow:
    members = session.execute(
        select(schema.DatasetMember.sha256, schema.DatasetMember.split).where(
            schema.DatasetMember.version_id == row.id
        )
    )
    return DatasetVersionRow(
        id=row.id,
        created_at=row.created_at,
        manifest_key=row.manifest_key,
        counts=dict(row.counts),
        parameters=dict(row.parameters),
        members=dict(members.tuples().all()),
    )


def table_counts(engine: Engine) -> dict[str, int]:
    """Row count of every catalog table (used by the summary and the idempotency tests)."""
    tables = [schema.Image, schema.Rejection, schema.DatasetVersion, schema.DatasetMember]
    with Session(engine) as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0) for t in tables
        }


def known_content_hashes(engine: Engine) -> set[str]:
    """sha256 of every file the catalog has judged: admitted images and refused files alike."""
    with Session(engine) as session:
        images = session.scalars(select(schema.Image.sha256)).all()
        refused = session.scalars(select(schema.Rejection.sha256)).all()
    return {*images, *(sha for sha in refused if sha is not None)}
