"""Feedback: turn "the model was right / wrong" into the label the API records."""

from __future__ import annotations

from collections.abc import Iterable

from ui.api_client import FeedbackResult


class FeedbackUnclear(ValueError):
    """ "Wrong" does not name one other class (the prediction has no label, or more than two classes)."""


def feedback_label(predicted: str | None, *, correct: bool, labels: Iterable[str]) -> str:
    """The true label: the predicted one when the model was right, otherwise the other class."""
    if predicted is None:
        raise FeedbackUnclear("this prediction has no class, so it cannot be marked right or wrong.")
    if correct:
        return predicted
    others = sorted(set(labels) - {predicted})
    if len(others) != 1:
        raise FeedbackUnclear(
            f"cannot tell which class is right instead of {predicted!r} among {sorted(set(labels))}."
        )
    return others[0]


def feedback_message(result: FeedbackResult, *, predicted: str | None) -> str:
    """One sentence confirming what the API recorded."""
    correct = result.correct if result.correct is not None else result.label == predicted
    verdict = "the model was right" if correct else "the model was wrong"
    return f"Thanks: recorded as {result.label} ({verdict})."
