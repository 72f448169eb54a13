"""The batch results table (many photos at once) and its CSV export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ui.api_client import Prediction
from ui.probability import format_percent

COLUMNS: list[dict[str, Any]] = [
    {"name": "filename", "label": "File", "field": "filename", "align": "left", "sortable": True},
    {"name": "label", "label": "Class", "field": "label", "align": "left", "sortable": True},
    {"name": "confidence", "label": "Confidence", "field": "confidence", "align": "right"},
    # Quasar keeps cells on one line: a long API message would push the table off the page.
    {"name": "error", "label": "Error", "field": "error", "align": "left", "style": "white-space: normal"},
]

# Spreadsheets run a cell that starts with one of these as a formula; a file name chosen by a
# user must never do that when the CSV is opened (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def batch_rows(predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """Rows for the table, in upload order; `key` is the row's position (ids may be missing)."""
    return [
        {
            "key": index,
            "filename": prediction.filename,
            "label": prediction.label or "—",
            "confidence": format_percent(prediction.confidence) if prediction.error is None else "—",
            "error": prediction.error.message if prediction.error else "",
        }
        for index, prediction in enumerate(predictions)
    ]


def batch_summary(predictions: Sequence[Prediction], labels: Sequence[str]) -> str:
    """One line over the batch: "4 photos: 3 dandelion, 1 grass, 1 not classified."."""
    classified = [
        prediction.label for prediction in predictions if prediction.error is None and prediction.label
    ]
    failed = len(predictions) - len(classified)
    counts = Counter(classified)
    # Every known class is named, even at 0, so that "0 grass" reads as a result, not an omission.
    parts = [f"{counts.pop(label, 0)} {label}" for label in labels]
    parts += [f"{count} {label}" for label, count in sorted(counts.items())]
    if failed:
        parts.append(f"{failed} not classified")
    noun = "photo" if len(predictions) == 1 else "photos"
    return f"{len(predictions)} {noun}: {', '.join(parts)}."


def batch_csv(predictions: Sequence[Prediction]) -> str:
    """The batch as CSV: one row per file, one probability column per class, errors spelled out."""
    labels = sorted({label for prediction in predictions for label in prediction.probabilities})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "filename",
            "label",
            "confidence",
            *(f"p_{label}" for label in labels),
            "model_version",
            "prediction_id",
            "error_code",
            "error_message",
        ]
    )
    for prediction in predictions:
        error = prediction.error
        writer.writerow(
            [
                _safe_cell(prediction.filename),
                prediction.label or "",
                _number(prediction.confidence),
                *(_number(prediction.probabilities.get(label)) for label in labels),
                prediction.model_version or "",
                "" if prediction.id is None else prediction.id,
                error.code if error else "",
                _safe_cell(error.message) if error else "",
            ]
        )
    return buffer.getvalue()


def csv_filename(now: datetime) -> str:
    """Name of the downloaded file, stamped so that two exports do not overwrite each other."""
    return f"greenr-predictions-{now:%Y%m%d-%H%M%S}.csv"


def _number(value: float | None) -> str:
    # Full precision: the CSV is for analysis, the table is for reading.
    return "" if value is None else repr(float(value))


def _safe_cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text
