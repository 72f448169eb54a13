"""The Airflow DAGs (dags/): they import, their structure is as documented, and they run.

Airflow lives in its own environment (.venv-airflow, scripts/airflow_setup.sh): the DAGs are
loaded and run with its `python` and `airflow` commands, on an AIRFLOW_HOME and a GREENR_HOME of
the test's own (embedded defaults: SQLite catalog, local object store).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest
from cli_runner import isolated_env, run_script
from http_kit import free_port
from mlflow import MlflowClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.catalog.database import open_catalog
from greenr.catalog.repository import latest_dataset_version, table_counts
from greenr.settings import DEFAULT_SOURCE, REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AIRFLOW_VENV = REPO_ROOT / ".venv-airflow"
DAGS = REPO_ROOT / "dags"
COMPONENTS = ("api-server", "scheduler", "dag-processor")  # what scripts/airflow.sh runs


@dataclass(frozen=True)
class AirflowHome:
    """An Airflow with a migrated database, and the environment its commands run in."""

    home: Path
    greenr_home: Path
    landing: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AIRFLOW_VENV / "bin" / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=REPO_ROOT,
        )

    def dags_test(self, dag_id: str, conf: dict[str, Any] | None = None) -> dict[str, str]:
        """`airflow dags test DAG_ID`; the state of each task of that run."""
        args = ["dags", "test", dag_id] + (["-c", json.dumps(conf)] if conf else [])
        result = self.run(*args)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        run_id = re.findall(r"DagRun Finished: dag_id=\S+ logical_date=[^,]+, run_id=([^,]+),", output)[-1]
        states = self.run("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json")
        assert states.returncode == 0, states.stderr[-2000:]
        return {row["task_id"]: row["state"] for row in json.loads(states.stdout)}

    def asset_events(self) -> int:
        with sqlite3.connect(self.home / "airflow.db") as db:
            return int(db.execute("SELECT count(*) FROM asset_event").fetchone()[0])


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    assert (AIRFLOW_VENV / "bin" / "airflow").exists(), (
        f"no Airflow at {AIRFLOW_VENV}: run scripts/airflow_setup.sh (scripts/test.sh does)"
    )
    root = tmp_path_factory.mktemp("airflow")
    greenr_home = root / "greenr-home"
    landing = root / "landing"
    env = isolated_env(
        greenr_home,
        {
            "AIRFLOW_HOME": str(root / "airflow-home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "GREENR_LANDING_SOURCE": str(landing),
        },
    )
    env.pop("PYTHONPATH", None)  # the tasks' `python` is the project's .venv, run from the repository
    home = AirflowHome(root / "airflow-home", greenr_home, landing, env)
    migrated = home.run("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return home


def describe(airflow_home: AirflowHome) -> dict[str, Any]:
    out = airflow_home.home / "dags.json"
    result = subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "python"), "tests/airflow/describe_dags.py", str(DAGS), str(out)],
        env=airflow_home.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def load_dags_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DAGS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_dag_imports_and_has_the_documented_structure(airflow_home: AirflowHome) -> None:
    report = describe(airflow_home)
    assert report["import_errors"] == {}
    dags = report["dags"]
    assert sorted(dags) == ["greenr_ingestion", "greenr_monitoring", "greenr_training"]

    # The schedules and params the README's table documents.
    assert "seconds=1800" in dags["greenr_ingestion"]["schedule_text"]  # every 30 minutes
    assert dags["greenr_ingestion"]["params"] == ["source"]
    assert dags["greenr_training"]["params"] == ["config", "deploy", "overrides"]
    assert "0 4 * * *" in dags["greenr_monitoring"]["schedule_text"]  # daily at 04:00 UTC

    ingestion = dags["greenr_ingestion"]["tasks"]
    assert ingestion["detect_new_photos"]["downstream"] == ["ingest"]
    assert ingestion["ingest"]["downstream"] == ["announce_training_photos"]
    assert ingestion["announce_training_photos"]["outlets"] == ["greenr-training-photos"]
    assert "run.py --pipeline ingestion --source" in ingestion["ingest"]["command"]

    training = dags["greenr_training"]
    assert training["schedule"] == "AssetOrTimeSchedule"
    assert "greenr-training-photos" in training["schedule_text"]
    assert "0 3 * * 1" in training["schedule_text"]
    assert training["tasks"]["train"]["downstream"] == ["deploy"]
    assert "run.py --pipeline training" in training["tasks"]["train"]["command"]
    # Promotion is the training pipeline's gate: no task of any DAG promotes.
    commands = [t["command"] or "" for dag in dags.values() for t in dag["tasks"].values()]
    assert not any("promot" in command for command in commands)

    monitoring = dags["greenr_monitoring"]["tasks"]
    assert monitoring["monitor"]["downstream"] == ["choose"]
    assert monitoring["choose"]["downstream"] == ["keep_model", "retrain"]
    # Retraining starts with the feedback store's photos, then trains and deploys.
    assert "run.py --pipeline ingestion --source feedback" in monitoring["retrain"]["command"]
    assert monitoring["retrain"]["downstream"] == ["train_and_deploy"]
    assert monitoring["train_and_deploy"]["trigger_dag_id"] == "greenr_training"

    for dag_id, dag in dags.items():
        assert dag["catchup"] is False, dag_id
        assert dag["max_active_runs"] == 1, dag_id
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["failure_callback"], where
            assert task["timeout_seconds"], where
            if task["operator"] == "BashOperator":
                assert task["retries"] >= 1, where
                assert task["retry_exponential_backoff"], where


@pytest.mark.parametrize(
    ("decision", "next_task"),
    [
        ('{"retrain": true, "reasons": ["drift"]}', "retrain"),
        ('{"retrain": false, "reasons": []}', "keep_model"),
    ],
)
def test_the_monitoring_branch_follows_the_decision(decision: str, next_task: str) -> None:
    # Each kind of decision line, without running the pipeline (the DAG test above runs it).
    choose = load_dags_module("monitoring_decision").choose_after_monitoring
    assert choose(decision) == next_task


@pytest.mark.parametrize("decision", ["", "retrain please", '{"reasons": []}', '{"retrain": "yes"}'])
def test_an_unreadable_monitoring_decision_fails_the_branch(decision: str) -> None:
    choose = load_dags_module("monitoring_decision").choose_after_monitoring
    with pytest.raises(ValueError, match="monitoring"):
        choose(decision)


def land_real_photos(landing: Path, per_class: int = 40) -> None:
    """The first photos of each class, copied to the test's landing folder (never into the repo).

    Real ones, and 40 a class: enough for the training pipeline's split checks (5 a class a split).
    """
    for label in ("dandelion", "grass"):
        (landing / label).mkdir(parents=True, exist_ok=True)
        for path in sorted((DEFAULT_SOURCE / label).glob("*.jpg"))[:per_class]:
            shutil.copy(path, landing / label / path.name)


def test_the_ingestion_dag_turns_landed_photos_into_a_version_once(airflow_home: AirflowHome) -> None:
    land_real_photos(airflow_home.landing)
    first = airflow_home.dags_test("greenr_ingestion")
    assert first == {
        "detect_new_photos": "success",
        "ingest": "success",
        "announce_training_photos": "success",
    }
    engine = open_catalog(f"sqlite:///{airflow_home.greenr_home / 'catalog.db'}")
    counts = table_counts(engine)
    assert counts["images"] == 80
    assert counts["dataset_versions"] == 1
    assert airflow_home.asset_events() == 1  # the training DAG's Asset was updated

    second = airflow_home.dags_test("greenr_ingestion")
    assert second == {
        "detect_new_photos": "skipped",
        "ingest": "skipped",
        "announce_training_photos": "skipped",
    }
    assert table_counts(engine) == counts
    assert airflow_home.asset_events() == 1


def test_the_training_dag_trains_on_the_ingested_version(airflow_home: AirflowHome) -> None:
    engine = open_catalog(f"sqlite:///{airflow_home.greenr_home / 'catalog.db'}")
    if latest_dataset_version(engine) is None:  # this test run alone
        land_real_photos(airflow_home.landing)
        assert airflow_home.dags_test("greenr_ingestion")["ingest"] == "success"
    # 128 px: this test is about the DAG running the pipeline, not about the model it trains.
    short = {"overrides": ["head.epochs=1", "fine_tune.epochs=0", "image_size=128"], "deploy": False}
    states = airflow_home.dags_test("greenr_training", short)
    assert states == {"train": "success", "deploy": "skipped"}
    client = MlflowClient(tracking_uri=f"sqlite:///{airflow_home.greenr_home / 'mlflow.db'}")
    [model] = client.search_registered_models()
    assert model.latest_versions  # the run registered a version; the gate decided its stage


def test_the_monitoring_dag_runs_the_pipeline_and_keeps_the_model_when_the_policy_says_no(
    airflow_home: AirflowHome,
) -> None:
    # The real monitoring pipeline, on a catalog without new labels: the policy says keep.
    states = airflow_home.dags_test("greenr_monitoring")
    assert states == {
        "monitor": "success",
        "choose": "success",
        "keep_model": "success",
        "retrain": "skipped",
        "train_and_deploy": "skipped",
    }
    engine = open_catalog(f"sqlite:///{airflow_home.greenr_home / 'catalog.db'}")
    with Session(engine) as session:
        [run] = session.scalars(select(schema.MonitoringRun)).all()
    assert run.retrain is False
    assert any("new confirmed label(s)" in reason for reason in run.reasons)


def test_a_failed_task_is_reported_for_alerting(airflow_home: AirflowHome, tmp_path: Path) -> None:
    failures = tmp_path / "failures.jsonl"
    env = {**airflow_home.env, "GREENR_AIRFLOW_FAILURES_FILE": str(failures)}
    result = subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "python"), "tests/airflow/report_one_failure.py", str(DAGS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "greenr_airflow_task_failed" in result.stdout + result.stderr
    [line] = failures.read_text().splitlines()
    record = json.loads(line)
    assert record["dag_id"] == "greenr_ingestion"
    assert record["task_id"] == "ingest"
    assert record["try_number"] == 3
    assert "does not exist" in record["error"]


def test_the_local_airflow_starts_on_loopback_only_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = isolated_env(tmp_path / "home", {"GREENR_AIRFLOW_PORT": str(port)})
    script = REPO_ROOT / "scripts" / "airflow.sh"
    state = tmp_path / "home" / "airflow"
    leaders: list[int] = []
    try:
        started = run_script(script, "start", env, timeout=300)
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        assert run_script(script, "status", env).returncode == 0
        leaders = [int((state / f"{name}.pid").read_text()) for name in COMPONENTS]
        processes = [psutil.Process(pid) for pid in leaders]
        processes += [child for process in processes for child in process.children(recursive=True)]
        listening = {
            conn.laddr.ip
            for process in processes
            for conn in process.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}
    finally:
        stopped = run_script(script, "stop", env, timeout=120)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert not any(psutil.pid_exists(pid) for pid in leaders)
    assert run_script(script, "status", env).returncode == 3
