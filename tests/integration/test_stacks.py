"""Stacks register idempotently, and the cluster stack registers and passes ZenML's validation as
far as it goes without a cluster. That a pipeline gives the same dataset on local and local-s3 is
test_ingestion_pipeline.py's test_postgres_and_seaweedfs_give_the_same_dataset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import S3Service
from kubeconfig import KUBECONFIG

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def s3_env(s3: S3Service) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_S3": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
    }


def test_local_stack_registration_is_idempotent() -> None:
    first = run_python(["-m", "stacks", "register", "--stack", "local", "--activate", "local"], {})
    assert first.returncode == 0, first.stderr[-2000:]
    assert "created  stack local" in first.stdout
    second = run_python(["-m", "stacks", "register", "--stack", "local"], {})
    assert second.returncode == 0, second.stderr[-2000:]
    lines = [line.split()[0] for line in second.stdout.splitlines() if line.strip()]
    assert lines
    assert set(lines) == {"unchanged"}


def test_cluster_stack_registers_and_validates_without_a_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    env = {
        "KUBECONFIG": str(kubeconfig),
        "AWS_ACCESS_KEY_ID": "minio-user",
        "AWS_SECRET_ACCESS_KEY": "minio-password",
        "GREENR_CLUSTER_MLFLOW_PASSWORD": "mlflow-password",
    }
    registered = run_python(["-m", "stacks", "register", "--stack", "cluster"], env)
    assert registered.returncode == 0, registered.stderr[-2000:]
    for component in (
        "orchestrator greenr-k8s-orchestrator",
        "image_builder greenr-kaniko",
        "model_deployer greenr-seldon",
    ):
        assert f"created  {component}" in registered.stdout
    validated = run_python(["-m", "stacks", "validate", "cluster"], env)
    assert validated.returncode == 0, validated.stderr[-2000:]
    assert "stack cluster is valid" in validated.stdout
    # Without a Kubernetes context the same validation fails, so the check above means something.
    broken = run_python(
        ["-m", "stacks", "validate", "cluster"], {**env, "KUBECONFIG": str(tmp_path / "missing")}
    )
    assert broken.returncode == 1
    assert "is not valid" in broken.stderr


def test_setting_or_validating_a_stack_that_is_not_registered_says_how_to_register_it(
    tmp_path: Path,
) -> None:
    # A fresh store, as after the quickstart, which registers only `local`: no traceback.
    env = {"GREENR_HOME": str(tmp_path), "ZENML_CONFIG_PATH": str(tmp_path / "zenml")}
    for command, name in (("set", "local-s3"), ("validate", "cluster")):
        result = run_python(["-m", "stacks", command, name], env)
        assert result.returncode == 2, result.stderr[-2000:]
        assert result.stderr.strip() == (
            f"error: stack '{name}' is not registered: "
            f"register it first with python -m stacks register --stack {name}"
        )


def test_cluster_stack_needs_its_secrets() -> None:
    result = run_python(["-m", "stacks", "register", "--stack", "cluster"], {})
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "error: stack 'cluster' needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
        "GREENR_CLUSTER_MLFLOW_PASSWORD: set them and register again"
    )


def test_local_s3_without_keys_says_where_the_local_ones_are() -> None:
    result = run_python(["-m", "stacks", "register", "--stack", "local-s3"], {})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: stack 'local-s3' needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL_S3: "
        "set them and register again (the project's "
        "own S3 server: bash scripts/services.sh start, then source .greenr/services/client.env)"
    )


def test_the_services_client_env_is_all_the_local_s3_stack_needs(s3_service: S3Service) -> None:
    client_env = os.environ.get("GREENR_TEST_CLIENT_ENV")
    if not client_env:
        pytest.fail("GREENR_TEST_CLIENT_ENV is not set: start the services with scripts/services.sh")
    # What the README tells a person to type, in a shell with none of the keys set.
    result = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1" && "$2" -m stacks register --stack local-s3 && env',
            "_",
            client_env,
            sys.executable,
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stack local-s3" in result.stdout
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("AWS_"))
    assert {key: exported.get(key) for key in s3_env(s3_service)} == s3_env(s3_service)
