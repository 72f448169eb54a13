"""The prediction log's Great Expectations suite: what passes, and the expectation a bad log fails."""

from __future__ import annotations

import pytest
from prediction_log_kit import logged

from greenr.contracts import ANSWERS, LABELS
from greenr.dataset.rules import SUITES_DIR, find_expectation, read_suite_json
from greenr.monitoring.log_validation import COLUMNS, PREDICTION_LOG, log_frame, model_key, validate_log
from greenr.monitoring.prediction_log import LoggedPrediction
from greenr.validation.report import ValidationFailed, raise_on_failure

PUBLISHED = {model_key("greenr-classifier", "1")}


def test_the_suites_label_sets_are_the_contracts() -> None:
    suite = read_suite_json(SUITES_DIR / f"{PREDICTION_LOG}.json")
    in_set = "expect_column_values_to_be_in_set"
    assert tuple(find_expectation(suite, in_set, "label")["value_set"]) == ANSWERS
    assert find_expectation(suite, in_set, "probability_labels")["value_set"] == [",".join(sorted(LABELS))]


def test_the_frame_has_the_suites_columns_even_when_empty() -> None:
    assert tuple(log_frame([]).columns) == COLUMNS


# Great Expectations takes seconds to import and set up.
@pytest.mark.slow
def test_a_sound_log_passes() -> None:
    report = validate_log([logged(n) for n in range(5)], PUBLISHED)
    assert report.success, report.failure_message()


@pytest.mark.slow
def test_a_log_with_neither_answers_passes() -> None:
    """A photo the open-set score rejected is logged as "neither", with the model's probabilities."""
    report = validate_log([*(logged(n) for n in range(5)), logged(5, label="neither")], PUBLISHED)
    assert report.success, report.failure_message()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (logged(9, label="cat"), "expect_column_values_to_be_in_set(label)"),
        (
            logged(9, probabilities={"dandelion": 1.2, "grass": -0.2}),
            "expect_column_values_to_be_between(probability_max)",
        ),
        (
            logged(9, probabilities={"dandelion": 0.7, "grass": 0.7}),
            "expect_column_values_to_be_between(probability_sum)",
        ),
        (
            logged(9, probabilities={"dandelion": 0.5, "cat": 0.5}),
            "expect_column_values_to_be_in_set(probability_labels)",
        ),
        (logged(9, version="7"), "expect_column_values_to_be_in_set(model)"),
        (logged(1), "expect_column_values_to_be_unique(id)"),
    ],
)
def test_a_bad_row_fails_the_expectation_that_names_it(bad: LoggedPrediction, named: str) -> None:
    report = validate_log([*(logged(n) for n in range(5)), bad], PUBLISHED)
    with pytest.raises(ValidationFailed) as failed:
        raise_on_failure(report)
    assert named in str(failed.value)
    assert named in [f"{e.expectation_type}({e.column})" for e in report.failures()]
