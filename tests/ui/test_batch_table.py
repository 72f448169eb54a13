"""Batch table rows, summary line and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from ui.api_client import ErrorDetail, Prediction
from ui.batch_table import batch_csv, batch_rows, batch_summary, csv_filename

FLOWER = Prediction(
    id=1,
    filename="flower.jpg",
    label="dandelion",
    probabilities={"dandelion": 0.9, "grass": 0.1},
    confidence=0.9,
    model_version="3",
)
BROKEN = Prediction(filename="@cmd.jpg", error=ErrorDetail(code="invalid_image", message="=not an image"))


def test_rows_keep_upload_order_and_show_errors() -> None:
    rows = batch_rows([FLOWER, BROKEN])

    assert rows == [
        {"key": 0, "filename": "flower.jpg", "label": "dandelion", "confidence": "90.0 %", "error": ""},
        {"key": 1, "filename": "@cmd.jpg", "label": "—", "confidence": "—", "error": "=not an image"},
    ]


def test_summary_names_every_class_and_failures() -> None:
    assert batch_summary([FLOWER, BROKEN], ["dandelion", "grass"]) == (
        "2 photos: 1 dandelion, 0 grass, 1 not classified."
    )
    assert batch_summary([FLOWER], ["dandelion", "grass"]) == "1 photo: 1 dandelion, 0 grass."


def test_csv_has_a_probability_column_per_class_and_defuses_formulas() -> None:
    exported = list(csv.reader(io.StringIO(batch_csv([FLOWER, BROKEN]))))

    assert exported[0] == [
        "filename",
        "label",
        "confidence",
        "p_dandelion",
        "p_grass",
        "model_version",
        "prediction_id",
        "error_code",
        "error_message",
    ]
    assert exported[1] == ["flower.jpg", "dandelion", "0.9", "0.9", "0.1", "3", "1", "", ""]
    assert exported[2] == ["'@cmd.jpg", "", "", "", "", "", "", "invalid_image", "'=not an image"]


def test_csv_filename_is_stamped() -> None:
    assert csv_filename(datetime(2025, 5, 17, 9, 3, 4)) == "greenr-predictions-20250517-090304.csv"
