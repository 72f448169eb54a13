"""The Ingress repeats the API's limits at the edge (issue 12, part 6): its annotations, built from
each overlay, must equal what the API pods' own settings say, so the two never silently disagree.

The API's settings are those of greenr/settings.py with the pod's environment (the overlay's
ConfigMap literals and the container's env values) on top, as the pod itself would read them."""

from __future__ import annotations

import math
import os
import re
from typing import Any

import pytest
from k8s_build import OVERLAYS, build_overlay

from greenr.api.body_limit import request_body_limit
from greenr.settings import REPO_ROOT, Settings

PREFIX = "nginx.ingress.kubernetes.io/"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("k8s")
    return {overlay: build_overlay(overlay, workdir) for overlay in OVERLAYS}


def api_environment(documents: list[dict[str, Any]]) -> dict[str, str]:
    """The environment the API container gets from literal values: its ConfigMaps, then its env."""
    (api,) = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "greenr-api"]
    container = api["spec"]["template"]["spec"]["containers"][0]
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in documents if d["kind"] == "ConfigMap"}
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment.update(maps[source["configMapRef"]["name"]])
    environment.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return environment


def pod_settings(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a process with exactly `environment` (GREENR_* variables) reads them."""
    for name in os.environ:
        if name.startswith("GREENR_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        if name.startswith("GREENR_"):
            monkeypatch.setenv(name, value)
    # The pod's S3 keys come from a Secret; an s3:// lake needs some, their values do not matter here.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-secret")
    return Settings()


def annotations_of(documents: list[dict[str, Any]], name: str) -> dict[str, str]:
    """The ingress-nginx annotations of the Ingress `name`, without their prefix."""
    (ingress,) = [d for d in documents if d["kind"] == "Ingress" and d["metadata"]["name"] == name]
    annotations: dict[str, str] = ingress["metadata"]["annotations"]
    return {key.removeprefix(PREFIX): value for key, value in annotations.items()}


def expected_annotations(settings: Settings) -> dict[str, str]:
    """The Ingress annotations that repeat the API's limits, computed from its settings."""
    return {
        "proxy-body-size": str(request_body_limit(settings.max_upload_bytes, settings.max_batch_files)),
        # Unbuffered, so the API's body timeouts and upload slots apply to the client's own pace.
        "proxy-request-buffering": "off",
        "proxy-send-timeout": str(math.ceil(settings.body_read_timeout_seconds)),
        "limit-connections": str(settings.max_concurrent_uploads),
    }


def test_the_ingress_repeats_the_api_limits_of_each_overlay(
    built: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for overlay, documents in built.items():
        settings = pod_settings(api_environment(documents), monkeypatch)
        api, web = annotations_of(documents, "greenr-api"), annotations_of(documents, "greenr-web")
        expected = expected_annotations(settings)
        actual = {name: api.get(name) for name in expected}
        assert actual == expected, f"{overlay}: the API's Ingress disagrees with the API's settings"
        # The web app's uploads are bounded by the same settings; its Ingress passes the same bodies.
        assert web.get("proxy-body-size") == expected["proxy-body-size"], overlay


def test_the_comparison_sees_a_changed_setting(
    built: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pod given a larger upload limit than the Ingress passes would be refused at the edge first.
    environment = api_environment(built["staging"]) | {"GREENR_MAX_UPLOAD_BYTES": "20000000"}
    body_size = annotations_of(built["staging"], "greenr-api")["proxy-body-size"]
    assert expected_annotations(pod_settings(environment, monkeypatch))["proxy-body-size"] != body_size


def test_the_controller_read_timeouts_in_the_deployment_guide_are_the_api_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Controller-wide (not annotations): the guide's `helm install` sets them.
    settings = pod_settings({}, monkeypatch)
    guide = (REPO_ROOT / "docs" / "deployment.md").read_text()
    config = dict(re.findall(r"controller\.config\.([a-z-]+)=(\S+)", guide))
    assert config.get("client-header-timeout") == str(math.ceil(settings.header_read_timeout_seconds))
    assert config.get("client-body-timeout") == str(math.ceil(settings.body_read_timeout_seconds))
