"""GET /monitoring/summary, /monitoring/reports/{run_id} and /monitoring/reports/{run_id}/drift.html."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse

from greenr.api.access import Permission, Principal
from greenr.api.access_control import require
from greenr.api.monitoring import MAX_DAYS, read_activity, run_report, run_report_html
from greenr.api.routes import error_responses, json_error_responses
from greenr.api.services import Services
from greenr.monitoring.activity import Activity, Bucket
from greenr.monitoring.report import DriftReport

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

Reader = Annotated[Principal, Depends(require(Permission.READ_MONITORING))]
RunId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="The id of a monitoring run, as /monitoring/summary lists it.",
    ),
]
# The whylogs report is a page of its own, with scripts: a sandbox gives it an origin of its own,
# so that it can never read or act on the API (or the web app that relays it).
HTML_HEADERS: Final = {
    "Content-Security-Policy": "sandbox allow-scripts",
    "X-Content-Type-Options": "nosniff",
}

_ACCESS = {
    401: "`missing_api_key` or `invalid_api_key` (with `WWW-Authenticate: Bearer`)",
    403: "`forbidden`: the key's role is not `monitor` or `admin`",
    429: "`rate_limited`: over the key's rate; `Retry-After` says when to retry",
}
_REPORT = {
    **_ACCESS,
    404: "`monitoring_run_not_found` or `report_not_found`",
    422: "`invalid_request`: not a run id",
    502: "`invalid_report`: the stored report is not a drift report this API can read",
    503: "`database_unavailable` or `storage_unavailable` (with Retry-After)",
}


@router.get(
    "/summary",
    response_model=Activity,
    summary="Predictions per class over time, the confidence histogram, feedback accuracy, monitoring runs",
    description=(
        "Counts of the last `days` days per hour (up to 2 days) or per day, in UTC; the last 20 "
        "monitoring runs, newest first, with their verdict and retrain decision; "
        "`latest_report_run_id` is the newest run with a drift report (read it at "
        "/monitoring/reports/{run_id}). Keys with the `monitor` or `admin` role."
    ),
    responses=error_responses(
        {
            **_ACCESS,
            422: f"`invalid_request`: days not in 1..{MAX_DAYS}, bucket not hour or day",
            503: "`database_unavailable` (with Retry-After)",
        }
    ),
)
def summary(
    services: Services,
    _caller: Reader,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="How many days back.")] = 7,
    bucket: Annotated[Bucket | None, Query(description="hour or day; default by `days`.")] = None,
) -> Activity:
    return read_activity(services, days, bucket, datetime.now(UTC))


@router.get(
    "/reports/{run_id}",
    response_model=DriftReport,
    summary="The drift report of a monitoring run: each window's columns against the reference",
    responses=error_responses(_REPORT),
)
def report(services: Services, _caller: Reader, run_id: RunId) -> DriftReport:
    return run_report(services, run_id)


@router.get(
    "/reports/{run_id}/drift.html",
    response_class=HTMLResponse,
    summary="The whylogs HTML drift report of a monitoring run",
    responses=json_error_responses(_REPORT),
)
def report_html(services: Services, _caller: Reader, run_id: RunId) -> HTMLResponse:
    return HTMLResponse(run_report_html(services, run_id), headers=HTML_HEADERS)
