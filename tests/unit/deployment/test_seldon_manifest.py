"""The cluster deployment's SeldonDeploymentConfig and the document ZenML builds from it: valid for
Seldon Core 1.18.2's CRD and the project's checks; broken ones are refused by both."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from seldon_crd import crd_errors

from greenr.deployment.seldon_manifest import (
    ManifestError,
    preview_deployment,
    seldon_service_config,
    validate_seldon_deployment,
)

MODEL_URI = "s3://greenr/models/greenr-classifier/v7"


def document() -> dict[str, Any]:
    config = seldon_service_config(
        model_name="greenr-classifier",
        version="7",
        model_uri=MODEL_URI,
        image="registry.example:5000/greenr-model-server:0.1.0",
        storage_secret="zenml-seldon-core-1234",
        replicas=3,
    )
    return preview_deployment(config)


def test_the_config_gives_a_zenml_managed_custom_deployment() -> None:
    from zenml.integrations.seldon.seldon_client import SeldonDeployment

    built = document()
    assert SeldonDeployment.model_validate(built).is_managed_by_zenml()
    (predictor,) = built["spec"]["predictors"]
    assert predictor["replicas"] == built["spec"]["replicas"] == 3
    (container,) = predictor["componentSpecs"][0]["spec"]["containers"]
    assert container["name"] == predictor["graph"]["name"]
    assert container["image"] == "registry.example:5000/greenr-model-server:0.1.0"
    assert {"name": "MODEL_URI", "value": MODEL_URI} in container["env"]
    # Throughput under a CPU quota over single-request latency (the local stack spins).
    assert {"name": "GREENR_INTRA_OP_SPINNING", "value": "false"} in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": "zenml-seldon-core-1234"}}]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "512Mi"}
    # ZenML can rebuild its service from the deployment it finds in the cluster.
    assert '"model_version":"7"' in built["metadata"]["annotations"]["zenml.service_config"]


def test_it_passes_the_crd_schema_and_the_project_checks() -> None:
    built = document()
    assert crd_errors(built) == []
    validate_seldon_deployment(built)


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        (lambda d: d["spec"]["predictors"][0]["graph"].pop("name"), "'name' is a required property"),
        (lambda d: d["spec"].__setitem__("replicas", "2"), "'2' is not of type 'integer'"),
        (
            lambda d: d["spec"]["predictors"][0].__setitem__("replicas", "two"),
            "'two' is not of type 'integer'",
        ),
        (lambda d: d["spec"].pop("predictors"), "'predictors' is a required property"),
    ],
)
def test_the_crd_schema_refuses_broken_documents(change: Any, refused: str) -> None:
    broken = copy.deepcopy(document())
    change(broken)
    errors = crd_errors(broken)
    assert any(refused in error for error in errors), errors


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("kind",), "Deployment", "SeldonDeployment"),
        (("metadata", "name"), "Not_A_Label", "DNS-1123"),
        (("graph_name",), "other", "no container of the same name"),
        (("image",), "", "has no image"),
        (("env",), [], "does not set MODEL_URI"),
        (("envFrom",), [], "no storage secret"),
    ],
)
def test_the_project_checks_refuse_what_the_schema_lets_through(
    path: tuple[str, ...], value: object, message: str
) -> None:
    broken = copy.deepcopy(document())
    predictor = broken["spec"]["predictors"][0]
    container = predictor["componentSpecs"][0]["spec"]["containers"][0]
    if path == ("graph_name",):
        predictor["graph"]["name"] = value
    elif path in {("image",), ("env",), ("envFrom",)}:
        container[path[0]] = value
    elif path == ("kind",):
        broken["kind"] = value
    else:
        broken["metadata"]["name"] = value
    with pytest.raises(ManifestError, match=message):
        validate_seldon_deployment(broken)
