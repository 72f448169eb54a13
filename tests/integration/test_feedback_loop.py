"""The whole loop on the real services: predictions and corrections through the API -> monitoring ->
its decision -> ingestion of the corrected photos -> training -> promotion gate -> deployment through
the active stack's model deployer -> the API answers with the new champion (or the old one, and the
gate's reason).

PostgreSQL, SeaweedFS, MLflow, the local model deployer's Seldon model server, the API in-process,
on the `local-s3` stack: ZenML's artifacts, the lake and the published models on the S3 server, so
the model server reads its artifact from s3:// with the keys of the deploying process (this test
also covers what test_local_s3_deployment.py did: training and deployment after `stacks set
local-s3`). The first champion is trained badly on purpose (one epoch at a learning rate of 1e-9, like
test_training_pipeline.py's WORSE), so users have photos to correct; retraining uses the short QUICK
config. Both train at 128 px (SMALL): this test proves the loop's mechanics, not accuracy, and a
model at a non-default size is served at its own size (test_serving_contract.py). The monitoring
policy's label threshold is lowered to the number of photos answered, so that the decision to
retrain comes from the policy, not from --force.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_keys_kit import TRUSTED_BASE_URL, bearer, make_key
from cli_runner import run_python
from conftest import MlflowTarget, S3Service
from fastapi.testclient import TestClient
from http_kit import free_port
from model_server_kit import ModelServer, b64
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.api.access import Role
from greenr.api.app import create_app
from greenr.catalog import schema
from greenr.catalog.database import open_catalog
from greenr.catalog.repository import latest_dataset_version
from greenr.deployment.model_server_service import serving_status
from greenr.registry import model_registry
from greenr.settings import DEFAULT_SOURCE, REPO_ROOT, load_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PER_CLASS = 40  # the first photos of each class: the first dataset version
ANSWERED = 8  # per class, the next photos: predicted through the API, then answered
WORSE = ["--set", "head.epochs=1", "--set", "head.learning_rate=1e-9", "--set", "fine_tune.epochs=0"]
QUICK = ["--set", "head.epochs=2", "--set", "fine_tune.epochs=1"]
# A third of 224 px's pixels for every forward and backward pass of both trainings.
SMALL = ["--set", "image_size=128"]


def photos(label: str, start: int, stop: int) -> list[Path]:
    return sorted((DEFAULT_SOURCE / label).glob("*.jpg"))[start:stop]


def run(env: dict[str, str], *args: str) -> str:
    result = run_python(list(args), env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def run_logged(env: dict[str, str], *args: str) -> str:
    """Like run, with ZenML's log lines (stderr) too."""
    result = run_python(list(args), env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


def test_corrections_retrain_and_the_gate_decides_what_the_api_serves(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
    s3_service: S3Service,
    s3_prefix: str,
    mlflow_tracking: MlflowTarget,
) -> None:
    port = free_port()
    env = {
        "GREENR_DATABASE_URL": postgres_url,
        "GREENR_S3_ARTIFACT_URI": f"{s3_prefix}/zenml",
        "GREENR_LAKE_URI": f"{s3_prefix}/lake",
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
        "MLFLOW_TRACKING_URI": mlflow_tracking.uri,
        # ZenML insists on credentials for a remote tracker; the test server has no auth.
        "MLFLOW_TRACKING_USERNAME": "greenr",
        "MLFLOW_TRACKING_PASSWORD": "no-auth-on-the-test-server",
        "GREENR_MODEL_NAME": mlflow_tracking.registered_model_name,
        "GREENR_MODEL_SERVER_PORT": str(port),
        "GREENR_MODEL_SERVER_URL": f"http://127.0.0.1:{port}",
    }
    run(env, "-m", "stacks", "register", "--stack", "local-s3", "--activate", "local-s3")
    source = tmp_path / "source"
    for label in ("dandelion", "grass"):
        (source / label).mkdir(parents=True)
        for path in photos(label, 0, PER_CLASS):
            shutil.copy(path, source / label / path.name)
    run(env, "run.py", "--pipeline", "ingestion", "--source", str(source))
    trained = run_logged(env, "run.py", "--pipeline", "training", *WORSE, *SMALL)
    assert "Using stack: `local-s3`" in trained
    assert "version 1 PROMOTED to champion" in trained
    try:
        first_deploy = run_logged(env, "run.py", "--pipeline", "deployment")
        assert "version 1 (local-s3): started" in first_deploy, first_deploy
        served_from_s3(tmp_path, port, f"{s3_prefix}/lake/models/{mlflow_tracking.registered_model_name}/v1")
        loop(tmp_path, monkeypatch, env, postgres_url)
    finally:
        run_python(["-m", "greenr.deployment", "stop"], env)
    assert run_python(["-m", "greenr.deployment", "status"], env).returncode == 3


def served_from_s3(tmp_path: Path, port: int, model_uri: str) -> None:
    """Version 1 is served, read from its s3:// artifact with the keys of the deploying process
    (no fallback to a cached copy), and answers a real photo."""
    served = serving_status(f"http://127.0.0.1:{port}")
    assert served is not None
    assert (served.version, served.fallback, served.model_uri) == ("1", False, model_uri)
    client = ModelServer(home=tmp_path, port=port, cache=tmp_path)  # its HTTP client only
    status, body = client.predict({"binData": b64(photos("grass", 0, 1)[0].read_bytes())})
    assert status == 200, body
    assert body["jsonData"]["model"]["version"] == "1"


def loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], postgres_url: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    admin = bearer(make_key(postgres_url, Role.ADMIN, "loop", rate_per_second=1000.0, burst=1000))
    truths = {
        path: label
        for label in ("dandelion", "grass")
        for path in photos(label, PER_CLASS, PER_CLASS + ANSWERED)
    }
    answered: dict[str, dict[str, Any]] = {}
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL, headers=admin) as client:
        for path, truth in truths.items():
            files = [("files", (path.name, path.read_bytes(), "image/jpeg"))]
            response = client.post("/predict", files=files)
            assert response.status_code == 200, response.text
            (item,) = response.json()["predictions"]
            assert item["model_version"] == "1"
            feedback = client.post("/feedback", json={"prediction_id": item["id"], "label": truth})
            assert feedback.status_code == 201, feedback.text
            answered[hashlib.sha256(path.read_bytes()).hexdigest()] = {
                "predicted": item["label"],
                "truth": truth,
            }
    corrections = [sha for sha, answer in answered.items() if answer["predicted"] != answer["truth"]]
    assert corrections, "the badly trained first champion got every photo right: nothing was corrected"

    # Monitoring decides: as many new confirmed labels as the policy asks for (configs/monitoring.yaml
    # with the threshold lowered to this test's size).
    config = yaml.safe_load((REPO_ROOT / "configs" / "monitoring.yaml").read_text())
    config["retrain"]["min_new_labels"] = len(answered)
    config_path = tmp_path / "monitoring.yaml"
    config_path.write_text(yaml.safe_dump(config))
    monitored = run(env, "run.py", "--pipeline", "monitoring", "--config", str(config_path), "--window", "10")
    print(monitored)
    # The API stored each prediction's feature columns: one full window compared, the rest carried.
    assert "predictions read: 10 in 1 window(s), 0 without features (skipped)" in monitored
    assert f"{len(answered) - 10} carried to the next run" in monitored
    decision = json.loads(monitored.strip().splitlines()[-1])
    assert decision["retrain"] is True, monitored
    assert any(f"{len(answered)} new confirmed label(s)" in reason for reason in decision["reasons"])

    engine = open_catalog(postgres_url)
    before = latest_dataset_version(engine)
    retrained = run(env, "run.py", "--pipeline", "retraining", *QUICK, *SMALL)
    print(f"{len(corrections)} of {len(answered)} answers were corrections\n{retrained}")  # shown by -s
    outcome = json.loads(retrained.strip().splitlines()[-1])
    assert outcome["reason"].startswith("the latest monitoring run"), retrained
    assert outcome["new_dataset_version"] is True
    after = latest_dataset_version(engine)
    assert before is not None
    assert after is not None
    assert outcome["dataset_version"] == after.id != before.id

    # The answered photos were ingested under the users' labels, into train and validation only.
    with Session(engine) as session:
        rows = session.scalars(select(schema.Image).where(schema.Image.sha256.in_(list(answered)))).all()
    assert {row.sha256: row.label for row in rows} == {
        sha: answer["truth"] for sha, answer in answered.items()
    }
    assert {row.split for row in rows} <= {"train", "validation"}
    assert set(after.members) >= set(answered)

    assert outcome["challenger_version"] == "2"
    # Version 2 starts the cooldown: the next monitoring run would not retrain again this week.
    registry = (env["MLFLOW_TRACKING_URI"], env["GREENR_MODEL_NAME"])
    tags = model_registry.get_version(*registry, "2").tags
    assert tags[model_registry.RETRAINING_TAG] == outcome["reason"]
    assert model_registry.last_retraining_at(*registry) is not None
    settings = load_settings()
    with TestClient(create_app(settings), base_url=TRUSTED_BASE_URL) as client:
        path = photos("grass", PER_CLASS + ANSWERED, PER_CLASS + ANSWERED + 1)[0]
        files = [("files", (path.name, path.read_bytes(), "image/jpeg"))]
        admin = bearer(make_key(postgres_url, Role.ADMIN, "after", rate_per_second=1000.0, burst=1000))
        (item,) = client.post("/predict", files=files, headers=admin).json()["predictions"]
    if outcome["gate_decision"] == "promoted":
        assert outcome["served_version"] == "2"
        assert item["model_version"] == "2"
    else:
        assert outcome["gate_decision"] == "rejected"
        assert outcome["gate_reason"]
        assert outcome["served_version"] == "1"
        assert item["model_version"] == "1"
    assert f"served: version {outcome['served_version']}" in retrained
