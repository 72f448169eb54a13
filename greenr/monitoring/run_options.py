"""The monitoring run's options from the command line, checked before ZenML starts a run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from greenr.monitoring.config import MonitoringConfig, load_monitoring_config


class MonitoringOptionError(ValueError):
    """A monitoring option is unusable; the message says which and what to give instead."""


def parse_since(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC time (a time without a zone is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MonitoringOptionError(
            f"--since {text!r} is not an ISO 8601 time: give e.g. 2026-11-29 or 2026-11-29T08:00:00+00:00"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_config(path: Path, window: int | None) -> MonitoringConfig:
    """The config file with `--window` on top; a window out of range names its bounds."""
    config = load_monitoring_config(path)
    if window is None:
        return config
    try:
        return MonitoringConfig.model_validate({**config.model_dump(), "window": window})
    except ValidationError as error:
        problem = error.errors()[0]["msg"]
        raise MonitoringOptionError(f"--window {window} is not a usable window size ({problem})") from None
