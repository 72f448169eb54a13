"""Feedback: the answers a person may give on a prediction, and what the page says about them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from greenr.contracts import ANSWERS, LABELS
from ui.api_client import FeedbackResult

NEITHER: Final[str] = next(answer for answer in ANSWERS if answer not in LABELS)
"""The answer for a photo that shows no class (open-set rejection): "neither"."""


def answer_choices(labels: Iterable[str]) -> tuple[str, ...]:
    """The answers offered on a prediction: every class, then "neither"."""
    return (*labels, NEITHER)


def neither_title(labels: Iterable[str]) -> str:
    """What a "neither" answer means to a person: "This doesn't look like a dandelion or grass"."""
    return f"This doesn't look like a {' or '.join(labels)}"


def reason_detail(reason: str | None, title: str) -> str | None:
    """What the API's reason adds under the title: "Its open-set score 2.49 is above ...".

    The API's sentence starts with the title itself, which the page already shows right above.
    """
    if not reason or not reason.startswith(title):
        return reason or None
    rest = reason.removeprefix(title).lstrip(":. ").strip()
    return rest[:1].upper() + rest[1:] or None


def feedback_message(result: FeedbackResult, *, predicted: str | None) -> str:
    """One sentence confirming what the API recorded."""
    correct = result.correct if result.correct is not None else result.label == predicted
    verdict = "the model was right" if correct else "the model was wrong"
    return f"Thanks: recorded as {result.label} ({verdict})."
