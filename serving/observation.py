"""What both model servers add to Seldon's Flask app: request ids and access lines, the server's
own metrics, and one GET /metrics with Seldon's custom metrics and those.

The local server (serving/wsgi.py, gunicorn) and the container's (serving/seldon_entry.py,
seldon-core-microservice) call `observe` on the app Seldon built, before its first request, so
both export the same `greenr_model_server_*` series the alert rules and dashboards read.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from serving import request_log
from serving.server_metrics import ServerMetrics


def observe(app: Flask, seldon_metrics: Any, server_metrics: ServerMetrics) -> None:
    """Request ids, access lines and metrics on every request of `app`; GET /metrics."""
    server_metrics.install(app)
    request_log.install(app)

    def prometheus_metrics() -> tuple[bytes, int, dict[str, str]]:
        # Seldon's custom metrics and the server's own: two registries, distinct names, one page.
        seldon_body, content_type = seldon_metrics.generate_metrics()
        own_body, _ = server_metrics.render()
        return seldon_body.encode() + own_body, 200, {"Content-Type": content_type}

    app.add_url_rule("/metrics", "greenr_prometheus_metrics", prometheus_metrics, methods=["GET"])
