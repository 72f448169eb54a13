"""DAG greenr_ingestion: new photos in the landing area become a new dataset version.

    detect_new_photos -> ingest -> announce_training_photos (outlet: the training-photos Asset)

Runs every 30 minutes (and on demand). `detect_new_photos` skips the whole run when the landing
area (param `source`: a folder with <class>/ sub-folders, an s3:// prefix such as
s3://greenr/incoming/, or a .csv URL list) holds no photo the catalog has not judged; `ingest`
runs the ingestion pipeline on it (idempotent: content-addressed objects, one catalog transaction);
`announce_training_photos` succeeds, and so updates the Asset that starts greenr_training, only
when the new dataset version has training photos the previous one lacked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, Param
from pipeline_tasks import FILTERS, TRAINING_PHOTOS_ASSET_NAME, default_args, landing_source, project_task

with DAG(
    dag_id="greenr_ingestion",
    description="Ingest new photos from the landing area into a new dataset version",
    schedule=timedelta(minutes=30),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={"source": Param(landing_source(), type="string", description="folder, s3:// prefix or URL list")},
    user_defined_filters=FILTERS,
    tags=["greenr", "ingestion"],
    doc_md=__doc__,
):
    detect = project_task(
        "detect_new_photos",
        "-m greenr.ingestion.landing pending {{ params.source | quote }}",
        timeout=timedelta(minutes=10),
    )
    ingest = project_task(
        "ingest",
        "run.py --pipeline ingestion --source {{ params.source | quote }}",
        timeout=timedelta(minutes=45),
    )
    announce = project_task(
        "announce_training_photos",
        "-m greenr.ingestion.landing new-training-photos "
        "{{ ti.xcom_pull(task_ids='detect_new_photos') | quote }}",
        timeout=timedelta(minutes=5),
        outlets=[Asset(TRAINING_PHOTOS_ASSET_NAME)],
    )
    detect >> ingest >> announce
