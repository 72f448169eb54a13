"""Stacks register idempotently, and the cluster stack registers and passes ZenML's validation as
far as it goes without a cluster. That a pipeline gives the same dataset on local and local-s3 is
test_ingestion_pipeline.py's test_postgres_and_seaweedfs_give_the_same_dataset."""

from __future__ import annotations

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
        result.stderr.strip() == "error: stack 'cluster' needs AWS_ACCESS_KEY_ID: set it and register again"
    )
