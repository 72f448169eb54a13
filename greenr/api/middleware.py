"""Per-request observation: request id, access log line, latency and status metrics, last-resort 500.

Pure ASGI (not BaseHTTPMiddleware): it wraps every request, including the 413s of
`body_limit.BodySizeLimit` and the 404s of unknown routes.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenr.api.errors import error_body
from greenr.api.metrics import ApiMetrics
from greenr.json_logging import REQUEST_ID_HEADER, incoming_request_id, request_id

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("greenr.api.access")

# Probes and scrapes arrive every few seconds: their successes are logged at DEBUG only.
QUIET_ROUTES = frozenset({"/health", "/health/ready", "/metrics"})


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/predictions`), bounded in number unlike raw paths."""
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    # FastAPI sets "route" for its API routes only; the docs routes are plain, fixed paths.
    return str(scope["path"]) if "endpoint" in scope else "unmatched"


class RequestObservation:
    """Sets the request id (from X-Request-ID when valid, else a new one) and observes the request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1"))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Never a traceback to the client: it is logged here, with the request id.
            logger.exception("unhandled error serving %s %s", scope["method"], scope["path"])
            if not response_started:
                await JSONResponse(
                    error_body(
                        "internal_error",
                        f"the server met an unexpected error (request id {rid}); it is logged: "
                        "try again, or report the request id",
                    ),
                    status_code=500,
                )(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_request(route, scope["method"], status, elapsed)
            quiet = route in QUIET_ROUTES and status < 400
            access_logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000.0, 2),
                },
            )
            request_id.reset(token)
