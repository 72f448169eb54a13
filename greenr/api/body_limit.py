"""Refuse request bodies larger than their route can ever accept, before (or while) reading them.

Each route has its own limit: POST /predict the largest batch of images it accepts, every other
route (JSON bodies, or none) a small one, so a 100 MB JSON body is refused unread instead of
being parsed (issue 12: it cost 560 MB and a 2.6 s stall). A declared `Content-Length` over the
limit is answered 413 without reading a byte; a body without one (chunked) is counted while it
streams in and cut off at the limit. This also bounds what Starlette's multipart parser can
spool to disk for one request; the per-file limit is enforced by `uploads.read_at_most`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenr.api.errors import error_body

# Room for the multipart boundaries and part headers around the files themselves.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024
UPLOAD_PATH = "/predict"


def request_body_limit(max_upload_bytes: int, max_batch_files: int) -> int:
    """The largest body POST /predict can legitimately need."""
    return max_upload_bytes * max_batch_files + MULTIPART_OVERHEAD_BYTES


@dataclass(frozen=True)
class RouteLimit:
    """A body limit and what a client over it should do instead."""

    max_bytes: int
    advice: str


class BodySizeLimit:
    """ASGI middleware answering 413 `request_too_large` for bodies over their route's limit."""

    def __init__(self, app: ASGIApp, upload_max_bytes: int, other_max_bytes: int) -> None:
        self.app = app
        self.upload = RouteLimit(upload_max_bytes, "send fewer or smaller images")
        self.other = RouteLimit(other_max_bytes, "send a smaller JSON body (see /docs)")

    def limit_of(self, scope: Scope) -> RouteLimit:
        return self.upload if scope["path"] == UPLOAD_PATH else self.other

    @staticmethod
    def _refusal(limit: RouteLimit) -> JSONResponse:
        return JSONResponse(
            error_body(
                "request_too_large",
                f"the request body is larger than {limit.max_bytes} bytes: {limit.advice}",
            ),
            status_code=413,
            headers={"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit.max_bytes:
            await self._refusal(limit)(scope, receive, send)
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
                if received > limit.max_bytes:
                    # The app sees a disconnected client and stops reading; we answer instead.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)
        if exceeded:
            await self._refusal(limit)(scope, receive, send)
