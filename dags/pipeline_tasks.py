"""Building blocks of greenr's DAGs: a task that runs one ZenML pipeline, and the failure report.

Why BashOperator: each task is `python run.py --pipeline X` (or a small `python -m greenr...`
question) run by the project's own interpreter (.venv), on the ZenML stack active there. Airflow's
environment (.venv-airflow) and the project's cannot be one (PLATFORM.md: pins conflict), so an
in-process PythonOperator is out; ExternalPythonOperator would serialise a callable across
environments for no gain over the CLI people already use; a KubernetesPodOperator is what the
cluster would use (README, "Scheduling with Airflow"). Exit status 99 means "nothing to do" and
skips the task (BashOperator's skip_on_exit_code), so an idle run ends skipped, not failed.

Nothing happens on import beyond reading two environment variables for defaults.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator

REPO = Path(os.environ.get("GREENR_REPO", Path(__file__).resolve().parents[1]))
PYTHON = REPO / ".venv" / "bin" / "python"
# The asset the ingestion DAG updates when a dataset version brings new training photos.
TRAINING_PHOTOS_ASSET_NAME = "greenr-training-photos"
RETRIES = 2

logger = logging.getLogger(__name__)


def greenr_home() -> Path:
    """The project's state folder, as greenr/settings.py defines it (GREENR_HOME, else .greenr)."""
    return Path(os.environ.get("GREENR_HOME") or REPO / ".greenr")


def landing_source() -> str:
    """Where new photos land: GREENR_LANDING_SOURCE (a folder or s3:// prefix), else <home>/landing."""
    return os.environ.get("GREENR_LANDING_SOURCE") or str(greenr_home() / "landing")


# Jinja filters of every DAG: `quote` makes a param safe to put on a shell command line.
FILTERS = {"quote": shlex.quote}


def default_args() -> dict[str, Any]:
    """Retries with exponential backoff and the failure report, for every task of every DAG."""
    return {
        "owner": "greenr",
        "retries": RETRIES,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        # Every task is time-limited; tasks that run a pipeline set their own, longer limit.
        "execution_timeout": timedelta(minutes=10),
        "on_failure_callback": report_failure,
    }


def project_task(task_id: str, arguments: str, timeout: timedelta, **kwargs: Any) -> BashOperator:
    """A task running `.venv/bin/python ARGUMENTS` from the repository root, time-limited.

    `arguments` may hold Jinja templates (params, XComs); they are rendered before the shell sees them.
    """
    return BashOperator(
        task_id=task_id,
        bash_command=f"{shlex.quote(str(PYTHON))} {arguments}",
        cwd=str(REPO),
        execution_timeout=timeout,
        skip_on_exit_code=99,
        **kwargs,
    )


def failures_file() -> Path:
    """Where failed tasks are recorded, one JSON object a line (the observability hook)."""
    default = Path(os.environ.get("AIRFLOW_HOME") or greenr_home() / "airflow") / "greenr-task-failures.jsonl"
    return Path(os.environ.get("GREENR_AIRFLOW_FAILURES_FILE") or default)


def report_failure(context: Any) -> None:
    """on_failure_callback: one ERROR log line with a fixed marker, and one JSON line in failures_file().

    Alerting (Prometheus/Alertmanager, from the observability work) can count the file's lines or
    the marker; Airflow's own `ti_failures` metric counts the same events when StatsD/OTel is on.
    """
    ti = context.get("task_instance") or context.get("ti")
    record = {
        "at": datetime.now(UTC).isoformat(),
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": str(context.get("exception") or "")[:500],
    }
    logger.error("greenr_airflow_task_failed %s", json.dumps(record, sort_keys=True))
    path = failures_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
