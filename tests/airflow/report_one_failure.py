"""Call the DAGs' failure callback once with a stub task instance (run with .venv-airflow's python).

    python tests/airflow/report_one_failure.py DAGS_FOLDER

What Airflow passes the callback after a task's last try is a context with the task instance and
the exception; this stub has the fields the callback reads.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace


def main(folder: str) -> None:
    sys.path.append(folder)
    from pipeline_tasks import report_failure

    ti = SimpleNamespace(dag_id="greenr_ingestion", task_id="ingest", run_id="manual__test", try_number=3)
    report_failure({"task_instance": ti, "exception": RuntimeError("error: source folder /x does not exist")})


if __name__ == "__main__":
    main(sys.argv[1])
