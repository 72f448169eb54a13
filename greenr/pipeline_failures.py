"""Turning a failed ZenML run into the one-line messages of the exceptions its steps raised.

ZenML re-raises a step failure as a generic RuntimeError ("failure in step(s): ..."); the
exception a step raised, with its actionable message, is only kept in the run's records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
