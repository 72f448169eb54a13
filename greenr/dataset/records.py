"""The records that flow through ingestion: accepted images and rejected files."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ImageRecord(BaseModel):
    """Metadata of one decodable image, as extracted from its bytes."""

    model_config = ConfigDict(frozen=True)

    path: str
    label: str
    format: str
    mode: str
    width: int
    height: int
    bytes: int
    sha256: str
    phash: str
    ingested_at: datetime

    @property
    def extension(self) -> str:
        """File extension used for stored copies, from the decoded format (not the file name)."""
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(self.format, self.format.lower())

    @property
    def min_side(self) -> int:
        return min(self.width, self.height)


class RejectReason(StrEnum):
    """Why a file was not admitted to the dataset."""

    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    CORRUPT = "corrupt"
    DECOMPRESSION_BOMB = "decompression_bomb"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_SMALL = "too_small"
    FILE_TOO_SMALL = "file_too_small"
    FILE_TOO_LARGE = "file_too_large"
    UNKNOWN_CLASS = "unknown_class"
    NOT_A_FILE = "not_a_file"  # a device, pipe, socket or broken link under a class folder: never read
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    DOWNLOAD_FAILED = "download_failed"  # a URL of a URL list gave no photo (greenr/ingestion/downloads.py)
    # Feedback photos held for a person to look at (greenr/monitoring/feedback_source.py), never trained on:
    FEEDBACK_DISPUTED = "feedback_disputed"  # the answers on the photo disagree and no admin decided
    LABEL_CONFLICT = "label_conflict"  # feedback gives a catalogued photo another label
    NEAR_HELD_OUT = "near_held_out"  # looks like a photo of a split the source may not join (test)


class Rejection(BaseModel):
    """A file that was not admitted, with the reason a person can act on."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: RejectReason
    detail: str
    label: str | None = None
    sha256: str | None = None
