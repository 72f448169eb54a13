"""The history table: stored predictions, one page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ui.api_client import HistoryItem, HistoryPage
from ui.probability import format_percent

COLUMNS: list[dict[str, Any]] = [
    {"name": "created_at", "label": "When", "field": "created_at", "align": "left"},
    {"name": "filename", "label": "File", "field": "filename", "align": "left"},
    {"name": "label", "label": "Class", "field": "label", "align": "left"},
    {"name": "confidence", "label": "Confidence", "field": "confidence", "align": "right"},
    {"name": "model_version", "label": "Model", "field": "model_version", "align": "left"},
    {"name": "feedback", "label": "Feedback", "field": "feedback", "align": "left"},
]


def history_rows(items: Sequence[HistoryItem]) -> list[dict[str, Any]]:
    """Rows for the table, keyed by prediction id."""
    return [
        {
            "id": item.id,
            "created_at": format_time(item.created_at),
            "filename": item.filename,
            "label": item.label or "—",
            "confidence": format_percent(item.confidence),
            "model_version": f"v{item.model_version}" if item.model_version else "—",
            "feedback": feedback_text(item),
        }
        for item in items
    ]


def feedback_text(item: HistoryItem) -> str:
    """What the Feedback column says: nothing yet, or whether the model was right."""
    if item.feedback_label is None:
        return ""
    verdict = "right" if item.feedback_label == item.label else "wrong"
    return f"{item.feedback_label} ({verdict})"


def format_time(moment: datetime | None) -> str:
    """A timestamp to the second, with its UTC offset when the API sent one."""
    if moment is None:
        return "—"
    text = f"{moment:%Y-%m-%d %H:%M:%S}"
    offset = moment.utcoffset()
    if offset is not None:
        text += " UTC" if offset == timedelta(0) else f" {moment:%z}"
    return text


@dataclass(frozen=True)
class Pager:
    """Where a history page sits in the whole history."""

    offset: int
    limit: int
    total: int

    @classmethod
    def of(cls, page: HistoryPage) -> Pager:
        """The pager of a page the API returned."""
        return cls(offset=page.offset, limit=page.limit, total=page.total)

    @property
    def has_previous(self) -> bool:
        """Whether there are newer rows before this page."""
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        """Whether there are older rows after this page."""
        return self.offset + self.limit < self.total

    @property
    def previous_offset(self) -> int:
        """Offset of the page before this one."""
        return max(self.offset - self.limit, 0)

    @property
    def next_offset(self) -> int:
        """Offset of the page after this one."""
        return self.offset + self.limit

    def summary(self, shown: int) -> str:
        """What the pager says: "Rows 21–40 of 134", or that there is nothing to show."""
        if self.total == 0 or shown == 0:
            return "No predictions yet." if self.total == 0 else f"No rows here ({self.total} in all)."
        return f"Rows {self.offset + 1}–{self.offset + shown} of {self.total}"
