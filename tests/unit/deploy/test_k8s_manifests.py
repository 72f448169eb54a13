"""k8s/ checked offline: every overlay builds with kubectl kustomize, every object is valid
Kubernetes 1.32 (strict), every SeldonDeployment passes Seldon 1.18.2's CRD and the project's own
checks, and every workload follows the security and operations rules (tests/k8s_policy.py).
No cluster runs here: what a live API server and the operators would add is not checked."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # no stubs
import pytest
import yaml
from k8s_build import K8S, OVERLAYS, build_overlay, pod_specs
from k8s_policy import operations_problems, security_problems
from seldon_crd import crd_errors

from greenr.deployment.seldon_manifest import (
    CACHE_DIR,
    CONTAINER,
    model_server_pod_spec,
    validate_seldon_deployment,
)
from greenr.settings import REPO_ROOT

KUBERNETES = "1.32"
OWN_IMAGES = ("greenr-api", "greenr-web", "greenr-model-server", "greenr-pipelines")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("k8s")
    return {overlay: build_overlay(overlay, workdir) for overlay in OVERLAYS}


def all_documents(built: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for overlay, documents in built.items():
        for document in documents:
            yield overlay, document


def of_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def test_both_overlays_build_into_their_own_namespace(built: dict[str, list[dict[str, Any]]]) -> None:
    assert set(OVERLAYS) == {"staging", "production"}
    namespaces = {}
    for overlay, documents in built.items():
        (namespace,) = of_kind(documents, "Namespace")
        namespaces[overlay] = namespace["metadata"]["name"]
        for document in documents:
            if document["kind"] != "Namespace":
                assert document["metadata"].get("namespace") == namespaces[overlay], document["metadata"]
    assert len(set(namespaces.values())) == 2


def test_every_builtin_object_is_valid_kubernetes_strict(built: dict[str, list[dict[str, Any]]]) -> None:
    checked = 0
    for overlay, document in all_documents(built):
        if document["kind"] == "SeldonDeployment":
            continue  # a custom resource: checked against its CRD below
        try:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay}: {document['kind']}/{document['metadata']['name']}: {error.message}")
        checked += 1
    assert checked > 50


def test_strict_validation_refuses_an_unknown_field(built: dict[str, list[dict[str, Any]]]) -> None:
    deployment = copy.deepcopy(of_kind(built["staging"], "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_seldon_deployments_pass_the_crd_and_the_projects_checks(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, documents in built.items():
        (deployment,) = of_kind(documents, "SeldonDeployment")
        assert crd_errors(deployment) == [], overlay
        validate_seldon_deployment(deployment)
        (predictor,) = deployment["spec"]["predictors"]
        hpa = predictor["componentSpecs"][0]["hpaSpec"]
        assert hpa["minReplicas"] >= 2
        assert hpa["maxReplicas"] > hpa["minReplicas"]


def test_the_model_server_container_is_the_one_the_deployment_pipeline_generates(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    (deployment,) = of_kind(built["production"], "SeldonDeployment")
    (spec,) = pod_specs(deployment)
    (container,) = spec["containers"]
    generated = model_server_pod_spec(
        model_uri="s3://x", image=container["image"], storage_secret="greenr-model-server-storage"
    )
    (expected,) = generated["containers"]
    assert container["name"] == CONTAINER
    assert container["image"].split("/")[-1].startswith("greenr-model-server:")
    assert [e["name"] for e in container["env"]] == [e["name"] for e in expected["env"]]
    assert {e["name"]: e["value"] for e in container["env"]} | {"MODEL_URI": "s3://x"} == {
        e["name"]: e["value"] for e in expected["env"]
    }
    assert container["envFrom"] == expected["envFrom"]
    assert container["resources"] == expected["resources"]
    assert {"name": "model-cache", "mountPath": CACHE_DIR} in container["volumeMounts"]
    # The Secret it reads is generated under that exact name (no hash suffix).
    secrets = {s["metadata"]["name"] for s in of_kind(built["production"], "Secret")}
    assert "greenr-model-server-storage" in secrets


def test_every_workload_is_locked_down(built: dict[str, list[dict[str, Any]]]) -> None:
    workloads = [(o, d) for o, d in all_documents(built) if pod_specs(d)]
    assert len(workloads) >= 2 * 12
    problems = [f"{o}: {p}" for o, d in workloads for p in security_problems(d)]
    assert problems == []


def test_every_workload_has_resources_and_probes(built: dict[str, list[dict[str, Any]]]) -> None:
    problems = [f"{o}: {p}" for o, d in all_documents(built) for p in operations_problems(d)]
    assert problems == []


def test_the_policy_catches_a_weakened_workload(built: dict[str, list[dict[str, Any]]]) -> None:
    deployment = copy.deepcopy(next(d for d in built["staging"] if d["kind"] == "Deployment"))
    spec = deployment["spec"]["template"]["spec"]
    del spec["securityContext"]["runAsNonRoot"]
    container = spec["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    container["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
    del container["readinessProbe"]
    del container["resources"]["limits"]
    assert len(security_problems(deployment)) == 3
    assert len(operations_problems(deployment)) == 2


def test_images_are_pinned(built: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, document in all_documents(built):
        for spec in pod_specs(document):
            for container in spec["containers"]:
                image = container["image"]
                tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
                assert tag, f"{overlay}: {image} has no tag"
                assert tag != "latest", f"{overlay}: {image} is :latest"
                if image.split("/")[-1].split(":")[0] in OWN_IMAGES:
                    assert "/" in image, f"{overlay}: {image} is not set to a registry by the overlay"


def test_only_the_api_reaches_the_model_server(built: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, documents in built.items():
        policies = of_kind(documents, "NetworkPolicy")
        assert any(p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] for p in policies), (
            f"{overlay}: no default-deny ingress policy"
        )
        selecting = [
            p
            for p in policies
            if p["spec"]["podSelector"].get("matchLabels", {}).get("seldon-deployment-id")
            == "greenr-classifier"
        ]
        assert len(selecting) == 1
        serving_clients = set()
        for rule in selecting[0]["spec"]["ingress"]:
            ports = {port["port"] for port in rule["ports"]}
            names = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in rule["from"]}
            if ports - {6000}:  # anything but the metrics port serves predictions
                serving_clients |= names
        assert serving_clients <= {"greenr-api", "prometheus"}
        assert "greenr-api" in serving_clients


def test_database_and_object_store_admit_only_their_clients(built: dict[str, list[dict[str, Any]]]) -> None:
    policies = {p["metadata"]["name"]: p for p in of_kind(built["production"], "NetworkPolicy")}
    for name, forbidden in (("postgres-clients", "greenr-web"), ("minio-clients", "greenr-web")):
        peers = [peer for rule in policies[name]["spec"]["ingress"] for peer in rule["from"]]
        labels = [peer["podSelector"]["matchLabels"] for peer in peers]
        assert all("namespaceSelector" not in peer for peer in peers)
        assert {"app.kubernetes.io/name": forbidden} not in labels
        assert {"app.kubernetes.io/name": "greenr-api"} in labels


def test_autoscaling_and_disruption_budgets(built: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, documents in built.items():
        hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(documents, "HorizontalPodAutoscaler")}
        assert {"greenr-api", "greenr-web"} <= set(hpas), overlay
        assert all(h["apiVersion"] == "autoscaling/v2" for h in hpas.values())
        (metric,) = hpas["greenr-api"]["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        budgets = {
            tuple(sorted(p["spec"]["selector"]["matchLabels"].items()))
            for p in of_kind(documents, "PodDisruptionBudget")
        }
        for deployment in of_kind(documents, "Deployment"):
            if deployment["spec"].get("replicas", 1) > 1:
                labels = tuple(sorted(deployment["spec"]["selector"]["matchLabels"].items()))
                assert labels in budgets, f"{overlay}: Deployment {deployment['metadata']['name']} has no PDB"
    production_api = next(
        h
        for h in of_kind(built["production"], "HorizontalPodAutoscaler")
        if h["metadata"]["name"] == "greenr-api"
    )
    assert production_api["spec"]["minReplicas"] == 3


def test_the_ingress_serves_the_web_app_and_the_api_over_tls(built: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, documents in built.items():
        hosts = {}
        for ingress in of_kind(documents, "Ingress"):
            served = {
                rule["host"]: rule["http"]["paths"][0]["backend"]["service"]["name"]
                for rule in ingress["spec"]["rules"]
            }
            # One Ingress a service, so each host has its own limits (test_ingress_limits.py).
            assert list(served.values()) == [ingress["metadata"]["name"]], overlay
            assert set(served) <= set(ingress["spec"]["tls"][0]["hosts"])
            hosts.update(served)
        assert sorted(hosts.values()) == ["greenr-api", "greenr-web"], overlay
        assert len(set(hosts)) == 2, overlay
        api = next(d for d in of_kind(documents, "Deployment") if d["metadata"]["name"] == "greenr-api")
        env = {e["name"]: e.get("value") for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
        api_host = next(host for host, service in hosts.items() if service == "greenr-api")
        assert api_host in env["GREENR_API_TRUSTED_HOSTS"].split(","), overlay


def test_monitoring_configmaps_hold_the_monitoring_files_themselves(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    maps = {
        m["metadata"]["name"].rsplit("-", 1)[0]: m["data"] for m in of_kind(built["staging"], "ConfigMap")
    }
    monitoring = REPO_ROOT / "monitoring"
    for name, folder in (
        ("prometheus-rules", monitoring / "prometheus" / "rules"),
        ("grafana-dashboards", monitoring / "grafana" / "dashboards"),
        ("alertmanager-config", monitoring / "alertmanager"),
    ):
        files = {path.name: path.read_text() for path in sorted(folder.iterdir()) if path.is_file()}
        assert maps[name] == files, f"{name} is not the files of {folder}"
    config = yaml.safe_load(maps["prometheus-config"]["prometheus.yml"])
    assert sorted(Path(f).name for f in config["rule_files"]) == sorted(maps["prometheus-rules"])
    datasource = yaml.safe_load(maps["grafana-datasources"]["prometheus.yml"])["datasources"][0]
    local = yaml.safe_load((monitoring / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["uid"] == local["datasources"][0]["uid"]


def test_secrets_come_from_ignored_env_files_with_committed_examples() -> None:
    overlays = K8S / "overlays"
    for overlay in OVERLAYS:
        kustomization = yaml.safe_load((overlays / overlay / "kustomization.yaml").read_text())
        for generator in kustomization["secretGenerator"]:
            assert "literals" not in generator, f"{overlay}: a literal secret in git"
            for env in generator["envs"]:
                path = overlays / overlay / env
                assert path.with_name(path.name + ".example").is_file(), f"{path}.example is missing"
                ignored = subprocess.run(
                    ["git", "check-ignore", "-q", str(path)], cwd=REPO_ROOT, check=False
                ).returncode
                assert ignored == 0, f"{path} is not git-ignored"
    assert not any(d for d in K8S.rglob("*") if d.suffix == ".yaml" and "kind: Secret\n" in d.read_text())
