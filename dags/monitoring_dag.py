"""DAG greenr_monitoring: daily monitoring run; when it decides to retrain, ingest feedback, train, deploy.

    monitor -> choose (branch) -> retrain -> train_and_deploy (runs greenr_training with
                                             deploy=true, waits for it)
                               -> keep_model

`retrain` starts the branch by running the ingestion pipeline on the feedback store (`--source
feedback`: the photos users labelled, into train and validation only; disputes and relabels go to
review), so the training `train_and_deploy` triggers sees the corrections. It announces no Asset:
`train_and_deploy` starts training itself.

`monitor` runs `python run.py --pipeline monitoring`, whose last stdout line is the decision
(monitoring_decision.py reads it). tests/integration/test_airflow_dags.py runs this DAG with
`airflow dags test` against the real pipeline (the policy says keep: `keep_model`); the retrain
branch's tasks are the ingestion and training DAGs' own commands, tested there, and the whole loop
through run.py is tests/integration/test_feedback_loop.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG
from monitoring_decision import KEEP, RETRAIN, choose_after_monitoring
from pipeline_tasks import FILTERS, default_args, project_task

with DAG(
    dag_id="greenr_monitoring",
    description="Daily monitoring; retrain and redeploy when monitoring decides so",
    schedule="0 4 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    user_defined_filters=FILTERS,
    tags=["greenr", "monitoring"],
    doc_md=__doc__,
):
    monitor = project_task("monitor", "run.py --pipeline monitoring", timeout=timedelta(minutes=30))
    choose = BranchPythonOperator(
        task_id="choose",
        python_callable=choose_after_monitoring,
        op_kwargs={"decision": "{{ ti.xcom_pull(task_ids='monitor') }}"},
    )
    retrain = project_task(
        RETRAIN, "run.py --pipeline ingestion --source feedback", timeout=timedelta(minutes=45)
    )
    train_and_deploy = TriggerDagRunOperator(
        task_id="train_and_deploy",
        trigger_dag_id="greenr_training",
        conf={"deploy": True},
        wait_for_completion=True,
        poke_interval=60,
        # Training's own timeout is 2 h and deployment's 20 min, with retries.
        execution_timeout=timedelta(hours=6),
        # Not retried: the triggered run's own tasks retry with backoff, and a retry here would
        # start a second training run on top of the first.
        retries=0,
    )
    keep = EmptyOperator(task_id=KEEP)
    monitor >> choose >> [retrain, keep]
    retrain >> train_and_deploy
