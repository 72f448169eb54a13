"""Validate an accepted set of images with Great Expectations 1.x, and report it readably.

Two suites run (see `greenr/dataset/suites/`): `raw_images` on one row per image, and `class_balance` on one
row per class. The result is a `ValidationReport` (see `report`), a plain pydantic model that can
be stored as JSON, rendered as HTML, or turned into an exception by `raise_on_failure`.

GE and pandas are imported inside the functions only (see `runner`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from greenr.dataset.records import ImageRecord
from greenr.validation.report import (
    MAX_EXAMPLES,
    ExpectationOutcome,
    SuiteResult,
    ValidationFailed,
    ValidationReport,
    raise_on_failure,
)
from greenr.validation.runner import SuiteRun, run_suites

if TYPE_CHECKING:
    import pandas as pd

# The report models lived here first; steps, stored ZenML artifacts and tests import them from here.
__all__ = [
    "CLASS_BALANCE",
    "MAX_EXAMPLES",
    "RAW_IMAGES",
    "ExpectationOutcome",
    "SuiteResult",
    "ValidationFailed",
    "ValidationReport",
    "class_balance_frame",
    "raise_on_failure",
    "records_frame",
    "validate_images",
]

RAW_IMAGES = "raw_images"
CLASS_BALANCE = "class_balance"


def records_frame(records: Sequence[ImageRecord]) -> pd.DataFrame:
    """One row per image, one column per ImageRecord field (columns exist even with no records)."""
    import pandas as pd

    columns = list(ImageRecord.model_fields)
    return pd.DataFrame([record.model_dump() for record in records], columns=columns)


def class_balance_frame(records: Sequence[ImageRecord]) -> pd.DataFrame:
    """One row per label present in `records`: label, count, share of all records.

    Only observed labels get a row: a missing class is reported by the suite's label-set
    expectation, and an unknown label shows up with its own count and share.
    """
    import pandas as pd

    counts = Counter(record.label for record in records)
    total = sum(counts.values())
    rows = [
        {"label": label, "count": count, "share": count / total} for label, count in sorted(counts.items())
    ]
    return pd.DataFrame(rows, columns=["label", "count", "share"])


def validate_images(records: Sequence[ImageRecord]) -> ValidationReport:
    """Run the `raw_images` and `class_balance` suites on `records` and report every expectation."""
    return run_suites(
        [
            # A path names the image behind a bad value, a label the class behind a bad share.
            SuiteRun(RAW_IMAGES, records_frame(records), ("path",)),
            SuiteRun(CLASS_BALANCE, class_balance_frame(records), ("label",)),
        ]
    )
