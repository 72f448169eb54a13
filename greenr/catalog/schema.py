"""SQLAlchemy 2 tables of the catalog. Migrations in `migrations/versions` create them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Image(Base):
    """One admitted image, identified by its content; `split` never changes once set."""

    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), index=True)
    split: Mapped[str] = mapped_column(String(16), index=True)
    format: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    phash: Mapped[str] = mapped_column(String(16))
    source_path: Mapped[str] = mapped_column(Text)
    object_key: Mapped[str] = mapped_column(Text)
    ingested_at: Mapped[datetime]


class Rejection(Base):
    """A file refused at ingestion; `key` makes re-runs idempotent."""

    __tablename__ = "rejections"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_path: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    quarantine_key: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime]


class DatasetVersion(Base):
    """An immutable dataset version; its id is derived from its members and their splits."""

    __tablename__ = "dataset_versions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]
    manifest_key: Mapped[str] = mapped_column(Text)
    counts: Mapped[dict[str, Any]]
    parameters: Mapped[dict[str, Any]]


class DatasetMember(Base):
    """Membership of an image in a dataset version."""

    __tablename__ = "dataset_members"

    version_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("images.sha256"), primary_key=True)
    split: Mapped[str] = mapped_column(String(16))


class Prediction(Base):
    """One image classified by the prediction API (every answered image is one row)."""

    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(64), index=True)
    probabilities: Mapped[dict[str, Any]]
    confidence: Mapped[float] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(String(255))
    model_version: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[float] = mapped_column(Float)
    # Where the image's bytes were kept (None when the object store was down at prediction time).
    object_key: Mapped[str | None] = mapped_column(Text)
    # The API key that asked (None for rows from before keys existed: only admins see those).
    api_key_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # The feature columns (greenr/features/feature_set.yaml) the model server computed, and the
    # feature set version they follow; None for rows from before monitoring existed.
    features: Mapped[dict[str, Any] | None]
    feature_set_version: Mapped[int | None] = mapped_column(Integer)
    # The open-set score of the photo, the model's threshold (None when uncalibrated), the scoring
    # method, and whether the photo was answered "neither" (then `label` is "neither"); all None
    # for rows from before open-set rejection, or from a model published without it.
    open_set_score: Mapped[float | None] = mapped_column(Float)
    open_set_threshold: Mapped[float | None] = mapped_column(Float)
    open_set_method: Mapped[str | None] = mapped_column(String(32))
    open_set_rejected: Mapped[bool | None] = mapped_column(Boolean)


class Feedback(Base):
    """A key's true label for a prediction: one row per (prediction, key), a new answer replaces it."""

    __tablename__ = "feedback"
    # NULL keys (feedback from before keys existed) never collide: both databases treat NULLs as distinct.
    __table_args__ = (UniqueConstraint("prediction_id", "api_key_id", name="uq_feedback_prediction_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    prediction_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("predictions.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(64))
    correct: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    api_key_id: Mapped[str | None] = mapped_column(String(32))


class ApiKey(Base):
    """A key of the prediction API: only the SHA-256 of its secret is kept (greenr/api/keys)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # Per-key rate limit; None: the API's GREENR_API_RATE_PER_SECOND / GREENR_API_RATE_BURST.
    rate_per_second: Mapped[float | None] = mapped_column(Float)
    burst: Mapped[int | None] = mapped_column(Integer)


class MonitoringRun(Base):
    """One run of the monitoring pipeline: what it looked at, its verdict and its retrain decision.

    The retrain policy reads these rows (drift in consecutive runs, the cooldown since the last
    run that decided to retrain); the full report is at `report_key` (greenr/monitoring/report.py).
    """

    __tablename__ = "monitoring_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    # The predictions looked at were created in (since, until]; since is None on the first run.
    since: Mapped[datetime | None]
    until: Mapped[datetime]
    predictions: Mapped[int] = mapped_column(Integer)
    windows: Mapped[int] = mapped_column(Integer)
    drifted: Mapped[bool] = mapped_column(Boolean)
    retrain: Mapped[bool] = mapped_column(Boolean)
    forced: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    report_key: Mapped[str | None] = mapped_column(Text)
