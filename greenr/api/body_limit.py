"""Refuse request bodies larger than the API can ever accept, before (or while) reading them.

A declared `Content-Length` over the limit is answered 413 without reading a byte; a body without
one (chunked) is counted while it streams in and cut off at the limit. This bounds what
Starlette's multipart parser can spool to disk for one request; the per-file limit is enforced
by `uploads.read_at_most`.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenr.api.errors import error_body

# Room for the multipart boundaries and part headers around the files themselves.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def request_body_limit(max_upload_bytes: int, max_batch_files: int) -> int:
    """The largest body POST /predict can legitimately need."""
    return max_upload_bytes * max_batch_files + MULTIPART_OVERHEAD_BYTES


class BodySizeLimit:
    """ASGI middleware answering 413 `request_too_large` for bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> JSONResponse:
        return JSONResponse(
            error_body(
                "request_too_large",
                f"the request body is larger than {self.max_bytes} bytes: send fewer or smaller images",
            ),
            status_code=413,
            headers={"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return

        received = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # The app sees a disconnected client and stops reading; we answer instead.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)
        if exceeded:
            await self._refusal()(scope, receive, send)
