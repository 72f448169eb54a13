"""Running a pipeline and turning its failure into the one-line messages its steps raised.

What a failed pipeline call raises depends on the orchestrator and its execution mode (a generic
"failure in step(s)" RuntimeError, the step's own exception, or nothing for a remote one); the
exception a step raised, with its actionable message, is kept in the records of the run. So each
run gets a name of its own before it starts, and its failure is read from that very run: never
from the text of the exception, nor from the pipeline's latest run (which may be another one).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


class PipelineFailed(RuntimeError):
    """A pipeline run failed; the message is its failed steps' own messages."""


def last_exception_line(traceback: str) -> str:
    """The final "module.ExceptionType: message" line of a formatted traceback."""
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def exception_message(line: str) -> str:
    """The message of a "module.ExceptionType: message" line (the line itself if it has none)."""
    head, _, message = line.partition(": ")
    return message if message and " " not in head else line


def failed_step_messages(steps: Mapping[str, Any]) -> list[str]:
    """`step: message` for every failed step of a ZenML run (steps maps names to step runs)."""
    messages = []
    for name, step_run in steps.items():
        info = getattr(step_run, "exception_info", None)
        if str(getattr(step_run, "status", "")).endswith("failed") and info is not None:
            messages.append(f"{name}: {exception_message(last_exception_line(info.traceback))}")
    return messages


def unique_run_name(pipeline_name: str, now: datetime | None = None) -> str:
    """A run name no other run has: ZenML's default date-time format plus a random suffix."""
    moment = now or datetime.now(UTC)
    return f"{pipeline_name}-{moment:%Y_%m_%d-%H_%M_%S}-{uuid.uuid4().hex[:8]}"


def failure_message(run: Any) -> str | None:
    """One line for a failed run (`step: message; ...`), None when the run did not fail."""
    if not str(getattr(run, "status", "")).endswith("failed"):
        return None
    messages = failed_step_messages(run.steps)
    return "; ".join(messages) or f"pipeline run {run.name} failed (no step recorded an exception)"


def find_run_by_name(name: str) -> Any | None:
    """The run named `name` in the active ZenML store, None when the run was never created."""
    from zenml.client import Client

    try:
        return Client().get_pipeline_run(name, allow_name_prefix_match=False)
    except KeyError:
        return None


def run_reporting_failures(
    pipeline: Any, find_run: Callable[[str], Any | None] = find_run_by_name, **parameters: Any
) -> Any:
    """Run `pipeline(**parameters)` under a unique run name and return its run.

    Raises:
        PipelineFailed: the run failed; its message is the failed steps' own.
    """
    name = unique_run_name(pipeline.name)
    try:
        run = pipeline.with_options(run_name=name)(**parameters)
    except Exception:
        failed = find_run(name)
        message = failure_message(failed) if failed is not None else None
        if message is None:
            raise  # not a step failure (the run never started, or it did not fail): as it is
        raise PipelineFailed(message) from None
    message = failure_message(run) if run is not None else None
    if message is not None:
        raise PipelineFailed(message)
    return run
