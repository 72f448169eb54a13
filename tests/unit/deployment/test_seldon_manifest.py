"""The cluster deployment manifest: built with ZenML's Seldon models, refused when broken."""

from __future__ import annotations

import copy

import pytest
import yaml

from greenr.deployment.seldon_manifest import (
    ManifestError,
    build_seldon_deployment,
    deployment_name,
    to_yaml,
    validate_seldon_deployment,
)


def manifest() -> dict[str, object]:
    return build_seldon_deployment(
        model_name="greenr-classifier",
        version="7",
        model_uri="s3://greenr/models/greenr-classifier/v7",
        image="registry.example:5000/greenr-model-server:0.1.0",
        namespace="greenr",
        storage_secret="greenr-s3-credentials",
        replicas=3,
    )


def test_manifest_round_trips_through_zenml_and_yaml() -> None:
    from zenml.integrations.seldon.seldon_client import SeldonDeployment

    document = yaml.safe_load(to_yaml(manifest()))
    parsed = SeldonDeployment.model_validate(document)
    assert parsed.is_managed_by_zenml()
    assert document["metadata"]["namespace"] == "greenr"
    (predictor,) = document["spec"]["predictors"]
    assert predictor["replicas"] == document["spec"]["replicas"] == 3
    (container,) = predictor["componentSpecs"][0]["spec"]["containers"]
    assert container["name"] == predictor["graph"]["name"]
    assert {"name": "MODEL_URI", "value": "s3://greenr/models/greenr-classifier/v7"} in container["env"]
    # Throughput under a CPU quota over single-request latency (the local stack spins).
    assert {"name": "GREENR_INTRA_OP_SPINNING", "value": "false"} in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": "greenr-s3-credentials"}}]
    assert "AWS_SECRET_ACCESS_KEY" not in to_yaml(document)


def test_names_are_dns_labels() -> None:
    assert deployment_name("Greenr_Classifier v2") == "greenr-classifier-v2"
    with pytest.raises(ManifestError):
        deployment_name("___")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("kind",), "Deployment", "SeldonDeployment"),
        (("metadata", "name"), "Not_A_Label", "DNS-1123"),
        (("graph_name",), "other", "no container of the same name"),
        (("image",), "", "has no image"),
        (("env",), [], "does not set MODEL_URI"),
    ],
)
def test_broken_manifests_are_refused(path: tuple[str, ...], value: object, message: str) -> None:
    document = copy.deepcopy(manifest())
    predictor = document["spec"]["predictors"][0]  # type: ignore[index]
    container = predictor["componentSpecs"][0]["spec"]["containers"][0]
    if path == ("graph_name",):
        predictor["graph"]["name"] = value
    elif path == ("image",):
        container["image"] = value
    elif path == ("env",):
        container["env"] = value
    elif path == ("kind",):
        document["kind"] = value
    else:
        document["metadata"]["name"] = value  # type: ignore[index]
    with pytest.raises(ManifestError, match=message):
        validate_seldon_deployment(document)
