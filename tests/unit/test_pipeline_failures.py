"""A failed run's message is its failed steps' own exception messages, read from the run's records."""

from __future__ import annotations

from dataclasses import dataclass

from greenr.pipeline_failures import (
    exception_message,
    failed_step_messages,
    failure_message,
    last_exception_line,
    unique_run_name,
)

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


@dataclass
class Run:
    name: str
    status: str
    steps: dict[str, StepRun]


def test_a_failed_run_reports_its_failed_steps() -> None:
    run = Run("doomed-1", "failed", {"validate": StepRun("failed", Info(TRACEBACK))})
    assert failure_message(run) == "validate: class_balance: share failed: observed 0.9"
    assert failure_message(Run("ok-1", "completed", {})) is None
    assert failure_message(Run("odd-1", "failed", {})) == (
        "pipeline run odd-1 failed (no step recorded an exception)"
    )


def test_run_names_are_unique_and_say_what_ran() -> None:
    names = {unique_run_name("training_pipeline") for _ in range(50)}
    assert len(names) == 50
    assert all(name.startswith("training_pipeline-") for name in names)
