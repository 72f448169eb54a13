"""The local model server's own Prometheus metrics, next to Seldon's custom ones on GET /metrics.

Seldon's wrapper records only what the model reports per call (`GreenrModel.metrics()`), so a
request that fails before the model (a 404, a 500 in Seldon's code) and the process itself are
invisible to it. This registry adds, per worker (the local server runs exactly one):
requests by route, method and status, their latency, the process's CPU and memory, which model
is served, whether it is the cached last-good copy (fallback), and the model's test accuracy
(the feedback alert compares live errors with it). Metric names follow
`docs/observability.md`; the latency buckets equal the API's (a unit test compares them).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

# Resolve 5-500 ms finely (the p99 alert is at 250 ms); the tail up to 30 s shows timeouts.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75,
    1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class ServerMetrics:
    """The model server's HTTP, process and model metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "greenr_model_server_requests",
            "Requests answered, by route template, method and HTTP status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "greenr_model_server_request_duration_seconds",
            "Time to answer a request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "greenr_model_server_model_info",
            "1 for the model version this server serves.",
            ["model_name", "version", "alias"],
            registry=self.registry,
        )
        self.fallback = Gauge(
            "greenr_model_server_fallback",
            "1 when the server serves its cached last-good model because MODEL_URI could not be used.",
            registry=self.registry,
        )
        self.test_accuracy = Gauge(
            "greenr_model_server_model_test_accuracy",
            "Test-set accuracy of the served model (its metadata.json), as a ratio.",
            registry=self.registry,
        )

    def set_model(
        self, model_name: str, version: str, alias: str, fallback: bool, metrics: dict[str, Any]
    ) -> None:
        """Describe the loaded model (called once, after it loaded)."""
        self.model_info.labels(model_name=model_name, version=version, alias=alias).set(1)
        self.fallback.set(1 if fallback else 0)
        accuracy = metrics.get("test_accuracy")
        if isinstance(accuracy, int | float):
            self.test_accuracy.set(float(accuracy))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.request_seconds.labels(route=route, method=method).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return bytes(generate_latest(self.registry)), str(CONTENT_TYPE_LATEST)

    def install(self, app: Flask) -> None:
        """Observe every request of the Flask `app` (404s and 500s included)."""

        def start_timer() -> None:
            g.greenr_started = time.perf_counter()

        def observe(response: Response) -> Response:
            started = getattr(g, "greenr_started", None)
            if started is not None:
                rule = request.url_rule
                route = rule.rule if rule is not None else "unmatched"
                self.observe_request(
                    route, request.method, response.status_code, time.perf_counter() - started
                )
            return response

        app.before_request(start_timer)
        # Flask runs after_request functions on error responses too (finalize_request).
        app.after_request(observe)
