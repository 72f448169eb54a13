"""The API's Prometheus metrics, in a registry of its own (one per app, so tests can build many).

Scraped at GET /metrics. One uvicorn worker per process: scale with replicas, each scraped on its
own, so prometheus-client's multiprocess mode is not needed.
"""

from __future__ import annotations

import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from greenr.contracts import ANSWERS

# Resolve 5-500 ms finely (the p99 alert is at 250 ms); the tail up to 30 s shows timeouts.
# The model server has the same (serving/server_metrics.py; a unit test compares them).
LATENCY_BUCKETS = (
    0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75,
    1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
# Known label values start at 0, so that ratios and "nobody exports it" checks see the series
# before the first error (model_client.ModelServerUnavailable kinds, plus "rejected").
MODEL_SERVER_ERROR_KINDS = ("connect", "timeout", "server_error", "bad_response", "rejected")
CONFIDENCE_BUCKETS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0)


class ApiMetrics:
    """Counters and histograms of the API; every method is safe to call from any thread."""

    def __init__(self, low_confidence_threshold: float = 0.7) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # CPU seconds and resident memory of this process (process_*), for the Service dashboard.
        ProcessCollector(registry=self.registry)
        self.low_confidence_threshold = low_confidence_threshold
        self.request_seconds = Histogram(
            "greenr_api_request_duration_seconds",
            "Time to answer a request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "greenr_api_requests",
            "Requests answered, by route template, method and HTTP status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "greenr_api_predictions",
            "Images classified, by answer (a class, or neither for a photo the open-set score rejected) "
            "and model version.",
            ["label", "model_version"],
            registry=self.registry,
        )
        self.low_confidence = Counter(
            "greenr_api_low_confidence_predictions",
            "Images classified with a confidence below GREENR_LOW_CONFIDENCE_THRESHOLD.",
            registry=self.registry,
        )
        Gauge(
            "greenr_api_low_confidence_threshold",
            "GREENR_LOW_CONFIDENCE_THRESHOLD: a prediction less confident than this is counted as low.",
            registry=self.registry,
        ).set(low_confidence_threshold)
        self.confidence = Histogram(
            "greenr_api_prediction_confidence",
            "Probability of the predicted class.",
            buckets=CONFIDENCE_BUCKETS,
            registry=self.registry,
        )
        self.rejected_files = Counter(
            "greenr_api_rejected_files",
            "Uploaded files refused before reaching the model, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.feedback = Counter(
            "greenr_api_feedback",
            "Feedback received, by true label and whether the prediction was right.",
            ["label", "correct"],
            registry=self.registry,
        )
        self.model_server_errors = Counter(
            "greenr_api_model_server_errors",
            "Failed calls to the model server, by kind (connect, timeout, server_error, bad_response, "
            "rejected).",
            ["kind"],
            registry=self.registry,
        )
        for kind in MODEL_SERVER_ERROR_KINDS:
            self.model_server_errors.labels(kind=kind)
        for label in ANSWERS:
            for correct in ("true", "false"):
                self.feedback.labels(label=label, correct=correct)
        self.model_info = Gauge(
            "greenr_api_model_info",
            "1 for the model version the model server answered with last.",
            ["name", "version"],
            registry=self.registry,
        )
        self._model_lock = threading.Lock()
        self._model: tuple[str, str] | None = None

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.request_seconds.labels(route=route, method=method).observe(seconds)
        self.requests.labels(route=route, method=method, status=str(status)).inc()

    def observe_prediction(self, label: str, confidence: float, model_version: str = "unknown") -> None:
        self.predictions.labels(label=label, model_version=model_version).inc()
        self.confidence.observe(confidence)
        if confidence < self.low_confidence_threshold:
            self.low_confidence.inc()

    def observe_rejected_file(self, code: str) -> None:
        self.rejected_files.labels(code=code).inc()

    def observe_feedback(self, label: str, correct: bool) -> None:
        self.feedback.labels(label=label, correct="true" if correct else "false").inc()

    def observe_model_server_error(self, kind: str) -> None:
        self.model_server_errors.labels(kind=kind).inc()

    def set_model(self, name: str, version: str) -> None:
        """Point the info gauge at the served version (the previous version's series is removed)."""
        with self._model_lock:
            if self._model == (name, version):
                return
            if self._model is not None:
                self.model_info.remove(*self._model)
            self.model_info.labels(name=name, version=version).set(1)
            self._model = (name, version)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
