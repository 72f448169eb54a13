"""The real MLflow tracking server (scripts/services.sh): runs in PostgreSQL, artifacts proxied to
SeaweedFS under `mlflow-artifacts/`, model registry with aliases.

The tests hold no S3 keys (the autouse settings fixture removes the AWS variables): every artifact
goes through the server, which alone writes to S3.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import MlflowTarget, S3Service

pytestmark = pytest.mark.integration

ARTIFACTS_PREFIX = "mlflow-artifacts"


@pytest.fixture
def tracking(mlflow_tracking: MlflowTarget, monkeypatch: pytest.MonkeyPatch) -> MlflowTarget:
    """Point MLflow's fluent API at the test server through the environment only.

    `mlflow.set_tracking_uri` and `mlflow.set_experiment` would leave process-wide state (and
    variables) behind for the next tests: the tests pass the experiment id to `start_run` instead.
    """
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_tracking.uri)
    # A process-wide URI (mlflow.set_tracking_uri) would win over the variable.
    assert mlflow.get_tracking_uri() == mlflow_tracking.uri, "mlflow.set_tracking_uri was left set"
    return mlflow_tracking


def _create_experiment(target: MlflowTarget) -> str:
    from mlflow import MlflowClient

    return str(MlflowClient(tracking_uri=target.uri).create_experiment(target.experiment_name))


def _s3_keys(s3_service: S3Service, prefix: str) -> list[str]:
    client = s3_service.client()
    paginator = client.get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=s3_service.bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


def test_server_is_healthy(mlflow_server_uri: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{mlflow_server_uri}/health", timeout=10) as response:
        assert response.status == 200


def test_run_params_metrics_and_artifacts_go_through_the_server(
    tracking: MlflowTarget, s3_service: S3Service, tmp_path: Path
) -> None:
    import mlflow
    from mlflow import MlflowClient

    experiment_id = _create_experiment(tracking)
    note = tmp_path / "note.txt"
    note.write_text("dandelion or grass\n")

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_param("learning_rate", 0.001)
        mlflow.log_metric("val_accuracy", 0.93, step=1)
        mlflow.log_artifact(str(note), artifact_path="notes")
    run_id = run.info.run_id

    client = MlflowClient(tracking_uri=tracking.uri)
    fetched = client.get_run(run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.info.experiment_id == experiment_id
    assert fetched.data.params == {"learning_rate": "0.001"}
    assert fetched.data.metrics == {"val_accuracy": 0.93}
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "val_accuracy")] == [(1, 0.93)]
    # Proxied artifacts: the run's URI names the server's proxy, not S3.
    assert fetched.info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert [item.path for item in client.list_artifacts(run_id, "notes")] == ["notes/note.txt"]
    downloaded = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="notes/note.txt", dst_path=str(tmp_path / "downloaded")
    )
    assert Path(downloaded).read_text() == "dandelion or grass\n"

    # The bytes really are in SeaweedFS, under the server's artifact destination.
    key = f"{ARTIFACTS_PREFIX}/{experiment_id}/{run_id}/artifacts/notes/note.txt"
    assert _s3_keys(s3_service, f"{ARTIFACTS_PREFIX}/{experiment_id}/{run_id}/") == [key]
    stored = s3_service.client().get_object(Bucket=s3_service.bucket, Key=key)["Body"].read()
    assert stored == b"dandelion or grass\n"


def test_registered_model_version_and_champion_alias(
    tracking: MlflowTarget, s3_service: S3Service, tmp_path: Path
) -> None:
    import mlflow
    import mlflow.pyfunc
    from mlflow import MlflowClient
    from mlflow.pyfunc.model import PythonModel

    class ConstantModel(PythonModel):
        """Says dandelion to everything: the lightest model MLflow can log and load."""

        def predict(
            self, context: Any, model_input: list[str], params: dict[str, Any] | None = None
        ) -> list[str]:
            return ["dandelion" for _ in model_input]

    experiment_id = _create_experiment(tracking)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ConstantModel(),
            registered_model_name=tracking.registered_model_name,
            pip_requirements=["mlflow"],  # no requirement inference (it would load the model in a subprocess)
        )
    assert str(info.registered_model_version) == "1"

    client = MlflowClient(tracking_uri=tracking.uri, registry_uri=tracking.uri)
    version = client.get_model_version(tracking.registered_model_name, "1")
    assert version.run_id == run.info.run_id
    assert version.status == "READY"

    client.set_registered_model_alias(tracking.registered_model_name, "champion", "1")
    champion = client.get_model_version_by_alias(tracking.registered_model_name, "champion")
    assert champion.version == "1"
    assert champion.run_id == run.info.run_id
    assert champion.aliases == ["champion"]
    assert client.get_registered_model(tracking.registered_model_name).aliases == {"champion": "1"}

    # The model's files went through the proxy into SeaweedFS.
    model_prefix = f"{ARTIFACTS_PREFIX}/{experiment_id}/models/{info.model_id}/artifacts/"
    model_keys = _s3_keys(s3_service, model_prefix)
    assert {f"{model_prefix}MLmodel", f"{model_prefix}python_model.pkl"} <= set(model_keys), model_keys

    # And the alias resolves to a model that loads back through the server.
    (tmp_path / "loaded").mkdir()
    loaded = mlflow.pyfunc.load_model(
        f"models:/{tracking.registered_model_name}@champion", dst_path=str(tmp_path / "loaded")
    )
    assert list(loaded.predict(["a", "b"])) == ["dandelion", "dandelion"]
