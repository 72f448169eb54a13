"""The API's bounds on what one request may ask for, and the middleware that enforces them.

Every bound answers with the one JSON error shape and a status that tells the client what to do
(README "Security and limits" lists them with their settings).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenr.api.body_limit import UPLOAD_PATH, BodySizeLimit, request_body_limit
from greenr.api.errors import Problem, error_response
from greenr.api.read_timeout import BodyReadTimeout
from greenr.settings import Settings

# GET /predictions: a page holds at most this many items (part of the API's contract, not a
# setting). The largest offset is GREENR_MAX_HISTORY_OFFSET.
MAX_PAGE_SIZE = 200


async def refuse_and_close(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer `problem` and close the connection: the request's body is left unread, so the
    connection cannot carry another request."""
    response = error_response(problem)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class JsonDepthLimit:
    """Refuse (422) request bodies nesting deeper than `max_depth` before anything parses them.

    Python's JSON parser recurses per level: a 64 KiB body of `[` is a RecursionError, an
    unhandled 500. The routes' bodies are flat; `max_depth` leaves room for any future one.
    Bodies of POST /predict (multipart images) are not JSON and pass untouched.
    """

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        # Bounded by BodySizeLimit (outside this middleware): small for every route but uploads.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > self.max_depth:
            problem = Problem(
                422,
                "invalid_request",
                f"invalid request: body: the JSON nests deeper than {self.max_depth} levels: "
                "send the documented shape (see /docs)",
            )
            await error_response(problem)(scope, receive, send)
            return
        await self.app(scope, _replay([body], None, receive), send)


def _replay(bodies: list[bytes], last: Message | None, then: Receive | None = None) -> Receive:
    """A receive() giving the already-read body (or message) again, then the real receive."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False} for body in bodies]
    if last is not None:
        pending.append(last)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return replay


class UploadSlots:
    """At most `slots` POST /predict bodies being received at once; more are answered 503 `busy` at once.

    A slot is held from the request's start until its body has arrived (or the client left), so
    slow or stalled uploads, which hold a connection and a spooled body each, cannot pile up; a
    fast client's slot is back within milliseconds. Decoding is bounded apart (`DecodeSlots`).
    One event loop runs the middleware, so a plain counter is safe.
    """

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = slots
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != UPLOAD_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.slots:
            problem = Problem(
                503,
                "busy",
                f"the server is already receiving {self.slots} uploads: try again in a moment "
                "(see the Retry-After header)",
            )
            await refuse_and_close(problem, scope, receive, send)
            return
        self.in_progress += 1
        holding = True

        def release() -> None:
            nonlocal holding
            if holding:
                holding = False
                self.in_progress -= 1

        async def receive_then_release() -> Message:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                release()
            return message

        try:
            await self.app(scope, receive_then_release, send)
        finally:
            release()


class HeaderSizeLimit:
    """Refuse (431) requests whose headers hold more than `max_bytes` in all.

    Uvicorn's `h11_max_incomplete_event_size` (the same setting) bounds a head that is still
    arriving; a head that arrives whole in one read passes it, so the complete one is measured here.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                problem = Problem(
                    431,
                    "headers_too_large",
                    f"the request headers hold {size} bytes, more than {self.max_bytes}: send fewer or "
                    "shorter headers",
                )
                await refuse_and_close(problem, scope, receive, send)
                return
        await self.app(scope, receive, send)


class RetryAfterOn503:
    """Adds `Retry-After: <seconds>` to every 503 that lacks one: each is a "try again later"."""

    def __init__(self, app: ASGIApp, seconds: int) -> None:
        self.app = app
        self.value = str(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = MutableHeaders(scope=message)
                if "retry-after" not in headers:
                    headers.append("Retry-After", self.value)
            await send(message)

        await self.app(scope, receive, send_with_retry_after)


def install_limits(app: FastAPI, settings: Settings) -> None:
    """Add the limit middleware, innermost first (Starlette runs the last added outermost)."""
    app.add_middleware(JsonDepthLimit, max_depth=settings.max_json_depth)
    app.add_middleware(
        BodySizeLimit,
        upload_max_bytes=request_body_limit(settings.max_upload_bytes, settings.max_batch_files),
        other_max_bytes=settings.max_json_body_bytes,
    )
    app.add_middleware(
        BodyReadTimeout,
        idle_seconds=settings.body_read_timeout_seconds,
        total_seconds=settings.body_total_timeout_seconds,
    )
    app.add_middleware(UploadSlots, slots=settings.max_concurrent_uploads)
    app.add_middleware(HeaderSizeLimit, max_bytes=settings.max_header_bytes)
    app.add_middleware(RetryAfterOn503, seconds=settings.retry_after_seconds)
