"""GET /monitoring/...: the catalog's production activity and the monitoring runs' drift reports.

Read-only. Each failure is one ApiError whose message says what to do: the catalog or the
object store down (503), an unknown run or a report that is not there (404), a stored report
this API cannot read (502: what the store handed back is broken, not the request).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from greenr.api.errors import ApiError, Problem
from greenr.api.services import ApiServices
from greenr.catalog.database import CatalogUnavailable
from greenr.monitoring.activity import Activity, Bucket, MonitoringRunItem, default_bucket, find_run, period
from greenr.monitoring.activity import read_activity as read_catalog_activity
from greenr.monitoring.report import DriftReport
from greenr.monitoring.report_reader import ReportInvalid, ReportMissing, read_report, read_report_html
from greenr.storage.object_store import StorageUnavailable

logger = logging.getLogger(__name__)

MAX_DAYS: Final = 90
RUNS_SHOWN: Final = 20
RUN_COMMAND: Final = "python run.py --pipeline monitoring"


def read_activity(services: ApiServices, days: int, bucket: Bucket | None, now: datetime) -> Activity:
    """The last `days` days of predictions and feedback, and the latest monitoring runs."""
    since, until = period(days, now)
    try:
        with services.store.session() as session:
            return read_catalog_activity(session, since, until, bucket or default_bucket(days), RUNS_SHOWN)
    except CatalogUnavailable as error:
        raise _database_unavailable(error) from None


def run_report(services: ApiServices, run_id: str) -> DriftReport:
    """The drift report (summary JSON) of one monitoring run."""
    key = _report_key(services, run_id)
    try:
        return read_report(services.objects, key)
    except (ReportMissing, ReportInvalid, StorageUnavailable) as error:
        raise _unreadable(run_id, error) from None


def run_report_html(services: ApiServices, run_id: str) -> bytes:
    """The whylogs HTML drift report of one monitoring run."""
    report = run_report(services, run_id)
    if report.html_key is None:
        raise ApiError(
            Problem(
                404,
                "report_not_found",
                f"the monitoring run {run_id} wrote no HTML drift report (its windows had no "
                f"predictions to profile): see its JSON summary at /monitoring/reports/{run_id}",
            )
        )
    try:
        return read_report_html(services.objects, report.html_key)
    except (ReportMissing, ReportInvalid, StorageUnavailable) as error:
        raise _unreadable(run_id, error) from None


def _report_key(services: ApiServices, run_id: str) -> str:
    try:
        with services.store.session() as session:
            run: MonitoringRunItem | None = find_run(session, run_id)
    except CatalogUnavailable as error:
        raise _database_unavailable(error) from None
    if run is None:
        raise ApiError(
            Problem(
                404,
                "monitoring_run_not_found",
                f"no monitoring run has the id {run_id!r}: GET /monitoring/summary lists the runs",
            )
        )
    if run.report_key is None:
        raise ApiError(
            Problem(
                404,
                "report_not_found",
                f"the monitoring run {run_id} wrote no drift report (it had no predictions to compare): "
                f"make a few predictions, then run {RUN_COMMAND}",
            )
        )
    return run.report_key


def _unreadable(run_id: str, error: Exception) -> ApiError:
    if isinstance(error, StorageUnavailable):
        logger.error("object store unavailable: %s", error)
        return ApiError(
            Problem(
                503,
                "storage_unavailable",
                f"the object store is unavailable, the report of monitoring run {run_id} cannot be read: "
                "try again in a moment; operators: check GREENR_LAKE_URI and scripts/services.sh status",
            )
        )
    if isinstance(error, ReportMissing):
        return ApiError(
            Problem(
                404,
                "report_not_found",
                f"the drift report of monitoring run {run_id} is missing ({error}): run {RUN_COMMAND} again",
            )
        )
    logger.error("unreadable drift report of run %s: %s", run_id, error)
    return ApiError(
        Problem(
            502,
            "invalid_report",
            f"the stored drift report of monitoring run {run_id} cannot be read ({error}): "
            f"run {RUN_COMMAND} again, or check that the API and the pipeline are the same version",
        )
    )


def _database_unavailable(error: CatalogUnavailable) -> ApiError:
    logger.error("database unavailable: %s", error)
    return ApiError(
        Problem(
            503,
            "database_unavailable",
            "the catalog database is unavailable, the monitoring data cannot be read: try again in a "
            "moment; operators: check GREENR_DATABASE_URL and scripts/services.sh status",
        )
    )
