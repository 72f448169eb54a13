"""Push pipeline run and drift metrics to the Pushgateway; never fail the pipeline doing it.

    push_pipeline_run(url, "training", duration_seconds=212.0, succeeded=True)

A pipeline's job is its pipeline, not its metrics: when the URL is unset or the Pushgateway
does not answer, a warning is logged and the call returns False.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import pushadd_to_gateway

from greenr.observability import pushed_metrics as names

logger = logging.getLogger(__name__)


def pipeline_run_registry(
    pipeline: str, duration_seconds: float, succeeded: bool, finished_at: float
) -> CollectorRegistry:
    """The samples one finished run pushes (a failure leaves the last success's time alone)."""
    registry = CollectorRegistry()

    def gauge(name: str, text: str, value: float) -> None:
        Gauge(name, text, registry=registry).set(value)

    gauge(names.LAST_RUN_TIMESTAMP, "Unix time the pipeline's last run finished.", finished_at)
    gauge(names.LAST_RUN_DURATION, "Duration of the pipeline's last run.", duration_seconds)
    gauge(
        names.LAST_RUN_SUCCESS,
        "1 when the pipeline's last run succeeded, 0 when it failed.",
        1 if succeeded else 0,
    )
    if succeeded:
        gauge(names.LAST_SUCCESS_TIMESTAMP, "Unix time of the pipeline's last successful run.", finished_at)
    else:
        gauge(names.LAST_FAILURE_TIMESTAMP, "Unix time of the pipeline's last failed run.", finished_at)
    return registry


def drift_registry(
    scores: Mapping[str, float], thresholds: Mapping[str, float], drifted: bool, consecutive_runs: int
) -> CollectorRegistry:
    """The samples one monitoring run pushes: per-feature scores and thresholds, the verdict."""
    registry = CollectorRegistry()
    score = Gauge(
        names.DRIFT_SCORE,
        "Drift score of a feature in the last monitoring run.",
        ["feature"],
        registry=registry,
    )
    threshold = Gauge(
        names.DRIFT_THRESHOLD,
        "Score above which a feature counts as drifted.",
        ["feature"],
        registry=registry,
    )
    for feature, value in scores.items():
        score.labels(feature=feature).set(value)
    for feature, value in thresholds.items():
        threshold.labels(feature=feature).set(value)
    Gauge(names.DRIFT_DETECTED, "1 when the last monitoring run's verdict was drift.", registry=registry).set(
        1 if drifted else 0
    )
    Gauge(
        names.DRIFT_CONSECUTIVE_RUNS,
        "Monitoring runs in a row, up to the last one, whose verdict was drift.",
        registry=registry,
    ).set(consecutive_runs)
    return registry


def consecutive_drift_runs(previous: int, drifted: bool) -> int:
    """The drift streak after a run, from the streak before it (pushed as DRIFT_CONSECUTIVE_RUNS)."""
    return previous + 1 if drifted else 0


def push(url: str | None, pipeline: str, registry: CollectorRegistry, timeout: float = 3.0) -> bool:
    """Push `registry` under job greenr-pipelines, pipeline=<pipeline>; False (and a warning) on failure."""
    if not url:
        logger.warning(
            "GREENR_PUSHGATEWAY_URL is not set: the %s pipeline's metrics are not pushed", pipeline
        )
        return False
    try:
        pushadd_to_gateway(
            url, job=names.JOB, registry=registry, grouping_key={"pipeline": pipeline}, timeout=timeout
        )
    except OSError as error:  # URLError, connection refused, timeouts: all OSError
        logger.warning("could not push the %s pipeline's metrics to %s: %s", pipeline, url, error)
        return False
    return True


def push_pipeline_run(
    url: str | None, pipeline: str, duration_seconds: float, succeeded: bool, timeout: float = 3.0
) -> bool:
    """Record a finished run of `pipeline` on the Pushgateway (see the module docstring)."""
    registry = pipeline_run_registry(pipeline, duration_seconds, succeeded, time.time())
    return push(url, pipeline, registry, timeout)


def push_drift_result(
    url: str | None,
    scores: Mapping[str, float],
    thresholds: Mapping[str, float],
    drifted: bool,
    consecutive_runs: int,
    timeout: float = 3.0,
) -> bool:
    """Record a monitoring run's drift scores and verdict on the Pushgateway."""
    return push(url, "monitoring", drift_registry(scores, thresholds, drifted, consecutive_runs), timeout)
