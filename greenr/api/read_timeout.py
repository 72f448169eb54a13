"""Read timeouts: a client must send its request head and its body at a pace, or be cut off.

Uvicorn (0.54) times out idle keep-alive connections only: a client that opens a connection and
sends a partial head, or declares a Content-Length and stalls, holds it forever (issue 12: 300
stalled uploads all still open after 75 s). Two pieces close that gap:

- `protocol_with_header_timeout(seconds)`: uvicorn's h11 protocol with a timer from the moment a
  connection opens (or a keep-alive connection starts a new request) until the request head is
  complete; on expiry the connection is closed (no response can be framed before a request line).
- `BodyReadTimeout`: ASGI middleware bounding the wait for each chunk of the body (`idle_seconds`)
  and for the whole body (`total_seconds`, so a byte every few seconds cannot hold a connection
  either); on expiry the app sees a disconnect and the client gets 408 `request_timeout`.
"""

from __future__ import annotations

import asyncio
import time

import h11
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from greenr.api.errors import error_body


class _HeaderTimeoutProtocol(H11Protocol):
    """H11Protocol closing connections whose request head does not arrive in `header_timeout` s."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined head already buffered is parsed in super(); an idle connection is the
        # keep-alive timer's until its next bytes arrive (data_received arms this timer then).
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        """Arm the timer while a head is awaited (h11 is IDLE until the head is complete)."""
        if self.conn.their_state is h11.IDLE and self.cycle_idle():
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        else:
            self._cancel_head_timer()

    def cycle_idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _cancel_head_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _head_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection whose request head took over %g s", self.header_timeout)
            self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[H11Protocol]:
    """Uvicorn's `http=` protocol class with a request-head timeout of `seconds`."""
    return type("HeaderTimeoutH11Protocol", (_HeaderTimeoutProtocol,), {"header_timeout": seconds})


class BodyReadTimeout:
    """ASGI middleware answering 408 `request_timeout` when the body does not arrive in time."""

    def __init__(self, app: ASGIApp, idle_seconds: float, total_seconds: float) -> None:
        self.app = app
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds

    def _refusal(self, waited: str) -> JSONResponse:
        return JSONResponse(
            error_body(
                "request_timeout",
                f"the request body did not arrive in time ({waited}): send it again, at once",
            ),
            status_code=408,
            headers={"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.total_seconds
        body_done = False
        timed_out: str | None = None

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out
            if timed_out is not None:
                return {"type": "http.disconnect"}
            if body_done:
                # Past the body, receive() only waits for a disconnect: no limit on that.
                return await receive()
            left = deadline - time.monotonic()
            wait = min(self.idle_seconds, left)
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.0))
            except TimeoutError:
                timed_out = (
                    f"nothing for {self.idle_seconds:g} s"
                    if wait == self.idle_seconds
                    else f"not all of it within {self.total_seconds:g} s"
                )
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            if timed_out is None:
                await send(message)

        await self.app(scope, timed_receive, guarded_send)
        if timed_out is not None:
            await self._refusal(timed_out)(scope, receive, send)
