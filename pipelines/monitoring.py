"""Monitoring: collect, validate, compare, feedback, decide, report, publish, profile, record."""

from datetime import datetime

from zenml import pipeline

from greenr.monitoring.config import MonitoringConfig
from steps.monitoring.collect_predictions import collect_predictions_step
from steps.monitoring.compare_windows import compare_windows_step
from steps.monitoring.decide_retrain import decide_retrain_step
from steps.monitoring.profile_predictions import profile_predictions_step
from steps.monitoring.publish_drift_metrics import publish_drift_metrics_step
from steps.monitoring.record_run import record_run_step
from steps.monitoring.score_feedback import score_feedback_step
from steps.monitoring.validate_prediction_log import validate_prediction_log_step
from steps.monitoring.write_report import write_report_step


# Caching is off: the same parameters read a log that grows between runs.
@pipeline(enable_cache=False)
def monitoring_pipeline(config: MonitoringConfig, since: datetime | None = None, force: bool = False) -> None:
    """Compare the predictions logged since the last run with each model version's reference."""
    collected = collect_predictions_step(config.window, since)
    validate_prediction_log_step(collected)
    windows = compare_windows_step(collected, config, after="validate_prediction_log_step")
    feedback = score_feedback_step(collected, after="validate_prediction_log_step")
    decision, streak = decide_retrain_step(windows, config, force)
    report, _ = write_report_step(collected, windows, feedback, decision, streak, config)
    publish_drift_metrics_step(report)
    # Just before the record: a run that fails earlier profiles nothing, and the next run, which
    # reads its period again, profiles those predictions once.
    profile_predictions_step(collected, after="publish_drift_metrics_step")
    record_run_step(collected, report, after="profile_predictions_step")
