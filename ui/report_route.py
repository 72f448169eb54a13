"""The web app's route to a monitoring run's whylogs HTML report, relayed from the API.

The browser cannot call the API itself (the key stays in this server process), so the Monitoring
page links here and this route asks the API with the monitoring key. The report is answered
sandboxed (its own opaque origin): its scripts run, but can never act on the web app.
"""

from __future__ import annotations

import re
from typing import Final

from fastapi import Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from nicegui import app

from ui.api_client import ApiClient, ApiFailure, ApiUnavailable

ROUTE: Final = "/monitoring/reports/{run_id}/drift.html"
HTML_HEADERS: Final = {
    "Content-Security-Policy": "sandbox allow-scripts",
    "X-Content-Type-Options": "nosniff",
}
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def report_path(run_id: str) -> str:
    """Where the page links for the run's HTML report."""
    return ROUTE.format(run_id=run_id)


async def relay_report(api: ApiClient | None, run_id: str) -> Response:
    """The run's HTML report from the API, or a one-line plain-text answer saying what went wrong."""
    if api is None:
        return PlainTextResponse(
            "The web app has no monitoring key: an operator must set GREENR_UI_MONITORING_API_KEY "
            "or run python -m greenr.api.keys setup-local, then restart the web app.",
            status_code=503,
        )
    if not _RUN_ID.match(run_id):
        return PlainTextResponse(f"{run_id!r} is not a monitoring run id.", status_code=404)
    try:
        html = await api.drift_report_html(run_id)
    except ApiFailure as failure:
        status = 503 if isinstance(failure, ApiUnavailable) else getattr(failure, "status", 502)
        return PlainTextResponse(failure.message, status_code=status)
    return HTMLResponse(html, headers=HTML_HEADERS)


def install_report_route(api: ApiClient | None) -> None:
    """Serve ROUTE in the web app (once, before `ui.run`)."""

    async def drift_html(run_id: str) -> Response:
        return await relay_report(api, run_id)

    app.add_api_route(ROUTE, drift_html, methods=["GET"], include_in_schema=False)
