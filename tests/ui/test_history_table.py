"""History rows, timestamps and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ui.api_client import HistoryItem
from ui.history_table import Pager, format_time, history_rows


def test_rows_show_feedback_as_right_or_wrong() -> None:
    items = [
        HistoryItem(
            id=2, filename="b.jpg", label="grass", confidence=0.75, model_version="3", feedback_label="grass"
        ),
        HistoryItem(id=1, filename="a.jpg", label="grass", feedback_label="dandelion"),
        HistoryItem(id=0, filename="c.jpg"),
    ]

    rows = history_rows(items)

    assert [(row["id"], row["feedback"]) for row in rows] == [
        (2, "grass (right)"),
        (1, "dandelion (wrong)"),
        (0, ""),
    ]
    assert (rows[0]["confidence"], rows[0]["model_version"]) == ("75.0 %", "v3")
    assert (rows[2]["label"], rows[2]["confidence"], rows[2]["model_version"]) == ("—", "—", "—")


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2025, 5, 17, 9, 3, 4, 123456, tzinfo=UTC), "2025-05-17 09:03:04 UTC"),
        (datetime(2025, 5, 17, 9, 3, 4, tzinfo=timezone(timedelta(hours=2))), "2025-05-17 09:03:04 +0200"),
        (datetime(2025, 5, 17, 9, 3, 4), "2025-05-17 09:03:04"),
        (None, "—"),
    ],
)
def test_format_time(moment: datetime | None, text: str) -> None:
    assert format_time(moment) == text


def test_pager() -> None:
    first, middle, last = Pager(0, 20, 45), Pager(20, 20, 45), Pager(40, 20, 45)

    assert (first.has_previous, first.has_next, first.summary(20)) == (False, True, "Rows 1–20 of 45")
    assert (middle.previous_offset, middle.next_offset) == (0, 40)
    assert (last.has_previous, last.has_next, last.summary(5)) == (True, False, "Rows 41–45 of 45")
    assert Pager(0, 20, 0).summary(0) == "No predictions yet."
    assert Pager(60, 20, 45).summary(0) == "No rows here (45 in all)."
