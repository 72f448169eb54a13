"""Training and deployment after `stacks set local-s3`: ZenML artifacts, the lake and the published
model on the real S3 server, the catalog on PostgreSQL, the registry on the MLflow server, and the
champion served by the stack's local model deployer from its s3:// artifact.

The stack's mechanics, not accuracy: the model trains at 128 px (SMALL; a model at a non-default
size is served at its own size, test_serving_contract.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import MlflowTarget, S3Service
from model_server_kit import ModelServer, b64, free_port, real_photos

from greenr.deployment.model_server_service import serving_status
from greenr.settings import DEFAULT_SOURCE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PER_CLASS = 40  # the split checks want at least 5 test photos per class
QUICK = ["--set", "head.epochs=2", "--set", "fine_tune.epochs=1"]
# A third of 224 px's pixels for every forward and backward pass.
SMALL = ["--set", "image_size=128"]


def small_real_dataset(root: Path) -> Path:
    for label in ("dandelion", "grass"):
        (root / label).mkdir(parents=True)
        for path in sorted((DEFAULT_SOURCE / label).glob("*.jpg"))[:PER_CLASS]:
            shutil.copy(path, root / label / path.name)
    return root


def test_training_and_deployment_on_the_local_s3_stack(
    tmp_path: Path, s3_service: S3Service, s3_prefix: str, postgres_url: str, mlflow_tracking: MlflowTarget
) -> None:
    port = free_port()
    env = {
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
        "GREENR_S3_ARTIFACT_URI": f"{s3_prefix}/zenml",
        "GREENR_LAKE_URI": f"{s3_prefix}/lake",
        "GREENR_DATABASE_URL": postgres_url,
        "MLFLOW_TRACKING_URI": mlflow_tracking.uri,
        "MLFLOW_TRACKING_USERNAME": "greenr",
        "MLFLOW_TRACKING_PASSWORD": "no-auth-on-the-test-server",
        "GREENR_MODEL_NAME": mlflow_tracking.registered_model_name,
        "GREENR_MODEL_SERVER_PORT": str(port),
    }
    stacks = ["-m", "stacks", "register", "--stack", "local-s3", "--activate", "local-s3"]
    registered = run_python(stacks, env)
    assert registered.returncode == 0, registered.stderr[-2000:]
    source = small_real_dataset(tmp_path / "source")
    ingest = run_python(["run.py", "--pipeline", "ingestion", "--source", str(source)], env)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    trained = run_python(["run.py", "--pipeline", "training", *QUICK, *SMALL], env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "Using stack: `local-s3`" in trained.stdout + trained.stderr
    assert "version 1 PROMOTED to champion" in trained.stdout + trained.stderr
    try:
        deployed = run_python(["run.py", "--pipeline", "deployment"], env)
        assert deployed.returncode == 0, deployed.stderr[-4000:]
        assert "version 1 (local-s3): started" in deployed.stdout + deployed.stderr
        served = serving_status(f"http://127.0.0.1:{port}")
        assert served is not None
        assert served.version == "1"
        assert served.fallback is False
        # The server read the published artifact from S3 with the keys of the deploying process.
        assert served.model_uri == f"{s3_prefix}/lake/models/{mlflow_tracking.registered_model_name}/v1"
        client = ModelServer(home=tmp_path, port=port, cache=tmp_path)  # its HTTP client only
        status, body = client.predict({"binData": b64(real_photos(1)[0].read_bytes())})
        assert status == 200, body
        assert body["jsonData"]["model"]["version"] == "1"
    finally:
        run_python(["-m", "greenr.deployment", "stop"], env)
    assert run_python(["-m", "greenr.deployment", "status"], env).returncode == 3
