"""Which label feedback records."""

from __future__ import annotations

import pytest

from greenr.contracts import LABELS
from ui.api_client import FeedbackResult
from ui.feedback import FeedbackUnclear, feedback_label, feedback_message


def test_right_records_the_prediction_and_wrong_the_other_class() -> None:
    assert feedback_label("grass", correct=True, labels=LABELS) == "grass"
    assert feedback_label("grass", correct=False, labels=LABELS) == "dandelion"


@pytest.mark.parametrize(
    ("predicted", "labels"), [(None, LABELS), ("grass", ("grass", "clover", "dandelion"))]
)
def test_wrong_needs_exactly_one_other_class(predicted: str | None, labels: tuple[str, ...]) -> None:
    with pytest.raises(FeedbackUnclear):
        feedback_label(predicted, correct=False, labels=labels)


def test_message_says_what_was_recorded() -> None:
    result = FeedbackResult(id=1, prediction_id=7, label="dandelion", correct=False)

    assert (
        feedback_message(result, predicted="grass") == "Thanks: recorded as dandelion (the model was wrong)."
    )
    unknown = FeedbackResult(id=2, prediction_id=7, label="grass")
    assert feedback_message(unknown, predicted="grass") == "Thanks: recorded as grass (the model was right)."
