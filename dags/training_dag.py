"""DAG greenr_training: train a challenger (the pipeline's gate decides promotion), then deploy.

    train -> deploy

Starts when greenr_ingestion announces new training photos (the Asset), every Monday at 03:00 UTC,
or when greenr_monitoring decides to retrain. The DAG never promotes: the training pipeline's
gate (configs/promotion.yaml) does, and `deploy` serves whatever the champion is then (the
deployment pipeline leaves a server alone when it already serves the champion).
Params: `config` (training YAML), `overrides` (list of KEY=VALUE, like run.py --set),
`deploy` (false: train only).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param
from pipeline_tasks import FILTERS, TRAINING_PHOTOS_ASSET_NAME, default_args, project_task

with DAG(
    dag_id="greenr_training",
    description="Train a challenger on the latest dataset version, then deploy the champion",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"),
        assets=[Asset(TRAINING_PHOTOS_ASSET_NAME)],
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={
        "config": Param("configs/training.yaml", type="string"),
        "overrides": Param([], type="array", description="KEY=VALUE overrides (run.py --set)"),
        "deploy": Param(True, type="boolean"),
    },
    user_defined_filters=FILTERS,
    tags=["greenr", "training"],
    doc_md=__doc__,
):
    train = project_task(
        "train",
        "run.py --pipeline training --config {{ params.config | quote }}"
        "{% for item in params.overrides %} --set {{ item | quote }}{% endfor %}",
        timeout=timedelta(hours=2),
    )
    deploy = project_task(
        "deploy",
        "{% if params.deploy %}run.py --pipeline deployment"
        "{% else %}-c 'print(\"deploy=false: not deploying\")'; exit 99{% endif %}",
        timeout=timedelta(minutes=20),
    )
    train >> deploy
