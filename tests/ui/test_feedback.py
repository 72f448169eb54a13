"""Which answers feedback offers, and what the page says about them."""

from __future__ import annotations

from greenr.api.open_set_answer import neither_reason
from greenr.contracts import ANSWERS, LABELS
from ui.api_client import FeedbackResult
from ui.feedback import NEITHER, answer_choices, feedback_message, neither_title, reason_detail


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


def test_the_reason_under_the_title_does_not_repeat_it() -> None:
    title = neither_title(LABELS)
    reason = neither_reason("neither", 2.4923, 0.77696)
    assert reason is not None
    assert reason_detail(reason, title) == "Its open-set score 2.492 is above the model's threshold 0.777."
    # A model published without scores: the API's reason is the title alone, nothing to add.
    assert reason_detail(neither_reason("neither", None, None), title) is None
    assert reason_detail(None, title) is None
    # A reason of another shape is shown as it is.
    assert reason_detail("Too dark to tell.", title) == "Too dark to tell."
