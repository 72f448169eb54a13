"""Where a training run's files live in the object store (the models/ prefix of the bucket layout)."""

from __future__ import annotations


def model_run_key(run_id: str, name: str) -> str:
    """A file produced by one training run: models/runs/<run id>/<name>."""
    return f"models/runs/{run_id}/{name}"
