"""A failed step's own exception message is recovered from its traceback."""

from __future__ import annotations

from dataclasses import dataclass

from greenr.pipeline_failures import exception_message, failed_step_messages, last_exception_line

TRACEBACK = """Traceback (most recent call last):
  File "steps/ingestion/validate_dataset.py", line 20, in validate_dataset_step
    raise_on_failure(report)
greenr.validation.image_validation.ValidationFailed: class_balance: share failed: observed 0.9
"""


@dataclass
class Info:
    traceback: str


@dataclass
class StepRun:
    status: str
    exception_info: Info | None


def test_last_line_and_message() -> None:
    line = last_exception_line(TRACEBACK)
    assert line.startswith("greenr.validation.image_validation.ValidationFailed:")
    assert exception_message(line) == "class_balance: share failed: observed 0.9"
    assert exception_message("something odd happened") == "something odd happened"


def test_only_failed_steps_are_reported() -> None:
    steps = {
        "scan": StepRun("ExecutionStatus.COMPLETED", None),
        "validate": StepRun("failed", Info(TRACEBACK)),
    }
    assert failed_step_messages(steps) == ["validate: class_balance: share failed: observed 0.9"]
