"""Request ids and access lines of the local model server (JSON, greenr/json_logging.py).

The API sends the id of the request it serves in X-Request-ID; the server keeps it (or makes one)
for every line logged while answering, returns it in the response, and logs one access line per
request (route, status, duration), so one id can be followed from the web app to the model.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from greenr.json_logging import REQUEST_ID_HEADER, incoming_request_id, request_id

access_logger = logging.getLogger("serving.access")
# Probes and scrapes arrive every few seconds: their successes are logged at DEBUG only.
QUIET_ROUTES = frozenset({"/health/ping", "/health/status", "/metrics"})


def install(app: Flask) -> None:
    """Give every request of `app` an id and an access line."""

    def start() -> None:
        g.greenr_request_token = request_id.set(incoming_request_id(request.headers.get(REQUEST_ID_HEADER)))
        g.greenr_request_started = time.perf_counter()

    def finish(response: Response) -> Response:
        rid = request_id.get()
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        started = getattr(g, "greenr_request_started", None)
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"
        quiet = route in QUIET_ROUTES and response.status_code < 400
        access_logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s %s %d",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": None
                if started is None
                else round((time.perf_counter() - started) * 1000.0, 2),
            },
        )
        return response

    def forget(_error: BaseException | None) -> None:
        token = getattr(g, "greenr_request_token", None)
        if token is not None:
            request_id.reset(token)

    app.before_request(start)
    app.after_request(finish)
    app.teardown_request(forget)
