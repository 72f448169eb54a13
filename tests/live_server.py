"""The API served by a real uvicorn on a free port, in a thread, configured as `python -m greenr.api` does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from http_kit import free_port

from greenr.api.__main__ import server_config
from greenr.api.app import create_app
from greenr.settings import Settings


@contextmanager
def live_api(settings: Settings) -> Iterator[int]:
    """Serve the API (lifespan included) until the block ends; yields its port."""
    port = free_port()
    config = server_config(create_app(settings), settings.model_copy(update={"api_port": port}))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the API server thread died at start"
        assert time.monotonic() < deadline, "the API server did not start within 60 s"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)
