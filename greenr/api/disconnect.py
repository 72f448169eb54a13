"""Noticing, from a sync route's worker thread, that the client has gone.

POST /predict runs in a worker thread and can spend seconds checking and classifying a batch;
a client that closed its connection meanwhile will never read the answer (issue 12: work went on
for abandoned requests). `watch_disconnect(request)` gives the logic a cheap question to ask
between files and before each model-server call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request

from greenr.api.errors import CLIENT_GONE, ApiError


@contextlib.asynccontextmanager
async def watch_disconnect(request: Request) -> AsyncIterator[Callable[[], bool]]:
    """Within the block, a function telling whether the client has disconnected (never blocks).

    Once the body is read, the server's next message for this request is the disconnect: a task
    waits for it and sets an event that the worker thread reads for free. (Asking the event loop
    from the thread each time, `anyio.from_thread.run(request.is_disconnected)`, cost a
    cross-thread round trip per file and per model-server call.)
    """
    gone = threading.Event()

    async def wait_for_disconnect() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(wait_for_disconnect())
    try:
        yield gone.is_set
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def abandoned() -> ApiError:
    """The error of a request whose client left: nobody reads it, the logs and metrics do."""
    return ApiError(CLIENT_GONE)
