"""Step: record the run in `monitoring_runs` (where the next run starts; what the policy remembers)."""

from datetime import UTC, datetime

from zenml import step

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.report import DriftReport
from greenr.monitoring.report_store import summary_key
from greenr.monitoring.run_record import record_run, run_row
from greenr.resources import catalog_engine
from greenr.settings import get_settings


@step
def record_run_step(collected: CollectedLog, report: DriftReport) -> str:
    """Insert the run's row, last, once its report is stored; the report's key."""
    key = summary_key(report.run_id)
    row = run_row(report, collected.started_at, datetime.now(UTC), len(collected.consumed), key)
    record_run(catalog_engine(get_settings()), row)
    return key
