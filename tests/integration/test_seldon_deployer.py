"""The cluster stack's deployment through ZenML's real Seldon model deployer, up to the HTTP call.

No cluster runs here, so the Kubernetes API is the one fake (tests/kubernetes_capture.py): the
registered `cluster` stack's SeldonModelDeployer, its SeldonDeploymentService, the SeldonClient
and the kubernetes client all run for real, and what they send is captured and checked against
Seldon Core 1.18.2's CRD schema (tests/seldon_crd.py) and the project's own checks.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cli_runner import run_python
from kubeconfig import KUBECONFIG
from seldon_crd import crd_errors

from greenr.deployment.seldon_manifest import validate_seldon_deployment

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SELDON = "/apis/machinelearning.seldon.io/v1/namespaces/greenr/seldondeployments"
SECRETS = "/api/v1/namespaces/greenr/secrets"


def captured(requests: list[dict[str, Any]], method: str, prefix: str) -> list[dict[str, Any]]:
    return [r for r in requests if r["method"] == method and r["path"].startswith(prefix)]


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Versions 7, 8 and 8 again deployed on the registered `cluster` stack."""
    root = tmp_path_factory.mktemp("seldon")
    (root / "kubeconfig").write_text(KUBECONFIG)
    env = {
        "GREENR_HOME": str(root / "home"),
        "KUBECONFIG": str(root / "kubeconfig"),
        "AWS_ACCESS_KEY_ID": "minio-user",
        "AWS_SECRET_ACCESS_KEY": "minio-password-not-in-any-manifest",
        "GREENR_CLUSTER_MLFLOW_PASSWORD": "mlflow-password",
        "GREENR_CONTAINER_REGISTRY": "registry.example:5000",
    }
    registered = run_python(["-m", "stacks", "register", "--stack", "cluster", "--activate", "cluster"], env)
    assert registered.returncode == 0, registered.stderr[-3000:]
    output = root / "captured.json"
    result = run_python(["tests/kubernetes_capture.py", str(output), "7", "8", "8"], env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    document: dict[str, Any] = json.loads(output.read_text())
    return document


def test_first_deployment_creates_a_seldon_deployment_valid_for_the_crd(deployments: dict[str, Any]) -> None:
    first = deployments["records"][0]
    assert first["action"] == "started"
    assert first["stack"] == "cluster"
    assert first["deployer"] == "greenr-seldon"
    created = captured(deployments["requests"], "POST", SELDON)
    assert len(created) == 2  # version 7, then version 8
    body = created[0]["body"]
    assert crd_errors(body) == []
    validate_seldon_deployment(body)
    assert body["metadata"]["name"] == f"zenml-{first['service_id']}"
    assert body["metadata"]["labels"]["app"] == "zenml"
    (predictor,) = body["spec"]["predictors"]
    assert predictor["replicas"] == body["spec"]["replicas"] == 2
    (container,) = predictor["componentSpecs"][0]["spec"]["containers"]
    assert container["name"] == predictor["graph"]["name"] == "classifier"
    assert container["image"] == "registry.example:5000/greenr-model-server:0.1.0"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_URI"] == first["model_uri"] == "s3://greenr/models/greenr-classifier/v7"
    assert env["GREENR_INTRA_OP_SPINNING"] == "false"
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "512Mi"},
    }
    assert first["prediction_url"].endswith(
        f"/seldon/greenr/zenml-{first['service_id']}/api/v0.1/predictions"
    )


def test_the_storage_secret_is_made_by_zenml_and_only_referenced_by_the_deployment(
    deployments: dict[str, Any],
) -> None:
    body = captured(deployments["requests"], "POST", SELDON)[0]["body"]
    container = body["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0]
    (reference,) = container["envFrom"]
    secret_name = reference["secretRef"]["name"]
    secrets = captured(deployments["requests"], "POST", SECRETS)
    assert secrets
    secret = secrets[0]["body"]
    assert secret["metadata"]["name"] == secret_name
    values = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    # The model server reads these itself (boto3): the ZenML secret's keys, upper-cased.
    assert values["AWS_ACCESS_KEY_ID"] == "minio-user"
    assert values["AWS_SECRET_ACCESS_KEY"] == "minio-password-not-in-any-manifest"
    assert values["AWS_ENDPOINT_URL_S3"].startswith("http://minio.")
    assert "minio-password-not-in-any-manifest" not in json.dumps(body)


def test_a_new_version_replaces_the_deployment_and_the_same_version_is_left_alone(
    deployments: dict[str, Any],
) -> None:
    first, second, third = deployments["records"]
    assert (second["action"], second["version"]) == ("replaced", "8")
    assert second["service_id"] != first["service_id"]
    deleted = captured(deployments["requests"], "DELETE", SELDON)
    assert [r["path"].rsplit("/", 1)[1] for r in deleted] == [f"zenml-{first['service_id']}"]
    replacement = captured(deployments["requests"], "POST", SELDON)[1]["body"]
    assert crd_errors(replacement) == []
    container = replacement["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0]
    assert {"name": "MODEL_URI", "value": "s3://greenr/models/greenr-classifier/v8"} in container["env"]
    assert (third["action"], third["service_id"]) == ("unchanged", second["service_id"])


def test_the_crd_schema_refuses_what_the_cluster_would(deployments: dict[str, Any]) -> None:
    """The validation above can fail: a deployment without graph name or with text replicas."""
    body = captured(deployments["requests"], "POST", SELDON)[0]["body"]
    nameless = json.loads(json.dumps(body))
    del nameless["spec"]["predictors"][0]["graph"]["name"]
    assert any("'name' is a required property" in error for error in crd_errors(nameless))
    text_replicas = json.loads(json.dumps(body))
    text_replicas["spec"]["replicas"] = "2"
    assert any("'2' is not of type 'integer'" in error for error in crd_errors(text_replicas))


def test_no_other_api_was_called(deployments: dict[str, Any]) -> None:
    collections = {SELDON, SECRETS}
    paths = {
        p if p in collections else p.rsplit("/", 1)[0] for p in (r["path"] for r in deployments["requests"])
    }
    assert paths <= collections, paths
