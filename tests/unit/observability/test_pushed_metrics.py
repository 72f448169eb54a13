"""Pipeline run and drift metrics: what a push contains, and that a failed push never raises."""

from __future__ import annotations

import logging
import socket

import pytest
from prometheus_client import generate_latest

from greenr.api.metrics import LATENCY_BUCKETS as API_BUCKETS
from greenr.observability import pushed_metrics as names
from greenr.observability.push import (
    consecutive_drift_runs,
    drift_registry,
    pipeline_run_registry,
    push_pipeline_run,
)
from serving.server_metrics import LATENCY_BUCKETS as SERVER_BUCKETS


def samples(registry: object) -> dict[str, float]:
    text = generate_latest(registry).decode()  # type: ignore[arg-type]
    return {
        line.split(" ")[0].split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_a_success_records_its_time_as_the_last_success() -> None:
    pushed = samples(pipeline_run_registry("training", 12.5, True, 1000.0))
    assert pushed == {
        names.LAST_RUN_TIMESTAMP: 1000.0,
        names.LAST_RUN_DURATION: 12.5,
        names.LAST_RUN_SUCCESS: 1.0,
        names.LAST_SUCCESS_TIMESTAMP: 1000.0,
    }


def test_a_failure_leaves_the_last_success_alone() -> None:
    pushed = samples(pipeline_run_registry("training", 3.0, False, 2000.0))
    assert names.LAST_SUCCESS_TIMESTAMP not in pushed
    assert pushed[names.LAST_RUN_SUCCESS] == 0.0
    assert pushed[names.LAST_FAILURE_TIMESTAMP] == 2000.0


def test_drift_result_has_scores_thresholds_verdict_and_streak() -> None:
    text = generate_latest(drift_registry({"brightness": 0.3}, {"brightness": 0.2}, True, 2)).decode()
    assert f'{names.DRIFT_SCORE}{{feature="brightness"}} 0.3' in text
    assert f'{names.DRIFT_THRESHOLD}{{feature="brightness"}} 0.2' in text
    assert f"{names.DRIFT_DETECTED} 1.0" in text
    assert f"{names.DRIFT_CONSECUTIVE_RUNS} 2.0" in text


def test_the_drift_streak_counts_runs_in_a_row() -> None:
    streak = 0
    for drifted, expected in ((True, 1), (True, 2), (False, 0), (True, 1)):
        streak = consecutive_drift_runs(streak, drifted)
        assert streak == expected


def test_no_url_or_a_dead_pushgateway_is_a_warning_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with caplog.at_level(logging.WARNING):
        assert push_pipeline_run(None, "training", 1.0, True) is False
        assert push_pipeline_run(dead, "training", 1.0, True, timeout=1) is False
    messages = [record.getMessage() for record in caplog.records]
    assert any("GREENR_PUSHGATEWAY_URL is not set" in message for message in messages)
    assert any("could not push the training pipeline's metrics" in message for message in messages)


def test_api_and_model_server_share_the_latency_buckets() -> None:
    assert API_BUCKETS == SERVER_BUCKETS
    assert API_BUCKETS[0] == 0.005
    assert 0.25 in API_BUCKETS  # the p99 alert's threshold is a bucket boundary
    assert 0.5 in API_BUCKETS
