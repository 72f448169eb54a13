"""Which answers feedback offers, and what the page says about them."""

from __future__ import annotations

from greenr.contracts import ANSWERS, LABELS
from ui.api_client import FeedbackResult
from ui.feedback import NEITHER, answer_choices, feedback_message, neither_title


def test_every_class_then_neither_is_offered() -> None:
    assert answer_choices(LABELS) == ANSWERS
    assert NEITHER == "neither"


def test_neither_is_explained_with_the_model_classes() -> None:
    assert neither_title(LABELS) == "This doesn't look like a dandelion or grass"


def test_message_says_what_was_recorded() -> None:
    result = FeedbackResult(id=1, prediction_id=7, label="dandelion", correct=False)

    assert (
        feedback_message(result, predicted="grass") == "Thanks: recorded as dandelion (the model was wrong)."
    )
    unknown = FeedbackResult(id=2, prediction_id=7, label="grass")
    assert feedback_message(unknown, predicted="grass") == "Thanks: recorded as grass (the model was right)."
    neither = FeedbackResult(id=3, prediction_id=8, label="neither", correct=True)
    assert (
        feedback_message(neither, predicted="neither") == "Thanks: recorded as neither (the model was right)."
    )
