"""Write the DAGs of dags/ as JSON (import errors, schedule, tasks and their wiring) to a file.

Run by tests/integration/test_airflow_dags.py with .venv-airflow's interpreter, where Airflow is
installed (the project's .venv has no Airflow):
`python tests/airflow/describe_dags.py DAGS_FOLDER OUT.json` (a file: Airflow logs to stdout).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from airflow.dag_processing.dagbag import DagBag


def describe_task(task: Any) -> dict[str, Any]:
    timeout = task.execution_timeout
    return {
        "operator": type(task).__name__,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "retries": task.retries,
        "retry_exponential_backoff": bool(task.retry_exponential_backoff),
        "timeout_seconds": timeout.total_seconds() if timeout is not None else None,
        "failure_callback": bool(task.on_failure_callback),
        "outlets": sorted(str(getattr(outlet, "name", outlet)) for outlet in task.outlets),
        "command": getattr(task, "bash_command", None),
        "trigger_dag_id": getattr(task, "trigger_dag_id", None),
    }


def main(folder: str, out: str) -> None:
    # Airflow's dag-processor and task runner put the DAG bundle's folder on sys.path
    # (BundleDagBag), which the DAGs' shared modules (pipeline_tasks.py) rely on; do the same.
    sys.path.append(folder)
    bag = DagBag(dag_folder=folder)
    report = {
        "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "schedule": type(dag.timetable).__name__,
                "schedule_text": str(getattr(dag.timetable, "summary", None) or repr(dag.timetable)),
                "catchup": dag.catchup,
                "max_active_runs": dag.max_active_runs,
                "params": sorted(dag.params.keys()),
                "tasks": {task.task_id: describe_task(task) for task in dag.tasks},
            }
            for dag_id, dag in sorted(bag.dags.items())
        },
    }
    with open(out, "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
