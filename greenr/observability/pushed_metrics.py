"""Names of the metrics that pipelines push to the Pushgateway: their one home.

The alert rules, the dashboards and the tests use these names; a test checks that every name a
rule or panel uses is exported by the running API or model server, or pushed through
`greenr.observability.push` with the names below.

Pipeline runs (grouping key `pipeline`): the last run's time, duration and outcome, the last
success and the last failure. The Pushgateway keeps the last value of each, so a failure never
overwrites the time of the last success (`push` replaces only the metrics it sends).

Drift (pushed by the monitoring pipeline, grouping key `pipeline="monitoring"`): each feature's
drift score and the threshold it is judged against, the run's verdict, and how many monitoring
runs in a row gave a drift verdict (the alert fires from 2).
"""

from __future__ import annotations

JOB = "greenr-pipelines"
PIPELINES = ("ingestion", "training", "deployment", "monitoring")

LAST_RUN_TIMESTAMP = "greenr_pipeline_last_run_timestamp_seconds"
LAST_RUN_DURATION = "greenr_pipeline_last_run_duration_seconds"
LAST_RUN_SUCCESS = "greenr_pipeline_last_run_success"
LAST_SUCCESS_TIMESTAMP = "greenr_pipeline_last_success_timestamp_seconds"
LAST_FAILURE_TIMESTAMP = "greenr_pipeline_last_failure_timestamp_seconds"

DRIFT_SCORE = "greenr_drift_score"
DRIFT_THRESHOLD = "greenr_drift_threshold"
DRIFT_DETECTED = "greenr_drift_detected"
DRIFT_CONSECUTIVE_RUNS = "greenr_drift_consecutive_runs"

PIPELINE_RUN_METRICS = (
    LAST_RUN_TIMESTAMP,
    LAST_RUN_DURATION,
    LAST_RUN_SUCCESS,
    LAST_SUCCESS_TIMESTAMP,
    LAST_FAILURE_TIMESTAMP,
)
DRIFT_METRICS = (DRIFT_SCORE, DRIFT_THRESHOLD, DRIFT_DETECTED, DRIFT_CONSECUTIVE_RUNS)
