"""Stop work whose caller has stopped waiting.

The prediction API waits `GREENR_MODEL_SERVER_TIMEOUT_SECONDS` for an answer, then answers its
own client 503 and closes the connection; the model server used to go on decoding and classifying
for nobody (issue 12). The API sends how long it will wait as a Seldon meta tag
(`DEADLINE_TAG`, milliseconds); the server checks the deadline before each image it decodes and
each image it classifies, and gives up with 503 once it has passed. Requests without the tag
(other Seldon clients) have no deadline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEADLINE_TAG = "greenr_deadline_ms"


class CallerGone(RuntimeError):
    """The caller's deadline has passed: nobody waits for this answer any more."""


@dataclass(frozen=True)
class Deadline:
    """A monotonic instant after which the work is abandoned (None: never)."""

    at: float | None = None

    def check(self, what: str) -> None:
        """Raise CallerGone when the deadline has passed, naming the step given up."""
        if self.at is not None and time.monotonic() > self.at:
            raise CallerGone(f"the caller's deadline passed before {what}: the request was abandoned")


def deadline_from(meta: Any, started: float) -> Deadline:
    """The deadline a request's Seldon `meta` asks for, counted from `started` (time.monotonic())."""
    tags = meta.get("tags") if isinstance(meta, Mapping) else None
    raw = tags.get(DEADLINE_TAG) if isinstance(tags, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        return Deadline()
    return Deadline(started + float(raw) / 1000.0)
