"""A bound on how many images the API decodes at once, so concurrent uploads cannot multiply memory.

Each decode of a near-limit PNG holds up to 4 bytes per pixel (160 MB at 40 megapixels); 16
requests decoding at once took the API to 2 GB (issue 12). Decodes beyond `slots` wait up to
`wait_seconds` for a free slot, then the request is answered 503 `busy` (with Retry-After).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from greenr.api.errors import ApiError, Problem


def busy(wait_seconds: float) -> ApiError:
    return ApiError(
        Problem(
            503,
            "busy",
            f"the server is decoding as many images as it can and none finished within {wait_seconds:g} s: "
            "try again in a moment (see the Retry-After header)",
        )
    )


class DecodeSlots:
    """At most `slots` decodes at once in this process (thread-safe)."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        self._free = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one decode slot; ApiError 503 `busy` when none frees up within `wait_seconds`."""
        if not self._free.acquire(timeout=self.wait_seconds):
            raise busy(self.wait_seconds)
        try:
            yield
        finally:
            self._free.release()
