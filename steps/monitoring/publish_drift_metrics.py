"""Step: push the run's drift scores and verdict to the Pushgateway (never fails the run)."""

from zenml import step

from greenr.monitoring.pushed_scores import drift_scores
from greenr.monitoring.report import DriftReport
from greenr.observability.push import push_drift_result
from greenr.settings import get_settings


@step
def publish_drift_metrics_step(report: DriftReport) -> bool:
    """Per-column scores and thresholds, the verdict and the streak; False when nothing was pushed."""
    settings = get_settings()
    scores, thresholds = drift_scores(report.windows)
    return push_drift_result(
        settings.pushgateway_url,
        scores,
        thresholds,
        report.drifted,
        report.consecutive_drift_runs,
        settings.push_timeout_seconds,
    )
