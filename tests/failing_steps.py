"""A one-step ZenML pipeline whose step raises: imported by tests/failing_pipeline.py only.

Module-level, so that ZenML can load the step by its source path; imported only after
`prepare_zenml` (ZenML reads its configuration when it is imported).
"""

from __future__ import annotations

from zenml import pipeline, step


@step
def explode(words: str) -> int:
    """Fail with `words` as the message."""
    raise ValueError(words)


@pipeline(enable_cache=False)
def doomed(words: str) -> None:
    explode(words)
