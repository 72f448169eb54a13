"""Noticing, from a sync route's worker thread, that the client has gone.

POST /predict runs in a worker thread and can spend seconds checking and classifying a batch;
a client that closed its connection meanwhile will never read the answer (issue 12: work went on
for abandoned requests). `caller_gone_probe(request)` gives the logic a cheap question to ask
between files and before each model-server call.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio.from_thread
from starlette.requests import Request

from greenr.api.errors import CLIENT_GONE, ApiError


def caller_gone_probe(request: Request) -> Callable[[], bool]:
    """A function telling whether the request's client has disconnected (never blocks)."""

    def gone() -> bool:
        try:
            return bool(anyio.from_thread.run(request.is_disconnected))
        except RuntimeError:  # not in an anyio worker thread: nothing to ask
            return False

    return gone


def abandoned() -> ApiError:
    """The error of a request whose client left: nobody reads it, the logs and metrics do."""
    return ApiError(CLIENT_GONE)
