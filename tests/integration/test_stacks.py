"""Stacks register idempotently, a pipeline gives the same result on local and local-s3,
and the cluster stack registers and passes ZenML's validation as far as it goes without a cluster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_runner import run_python
from conftest import S3Service
from kubeconfig import KUBECONFIG
from photo_factory import make_dataset

from greenr.catalog.database import open_catalog
from greenr.catalog.repository import latest_dataset_version

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


def test_pipeline_gives_the_same_dataset_on_local_and_local_s3(
    tmp_path: Path, s3_service: S3Service, s3_prefix: str, postgres_url: str
) -> None:
    source = make_dataset(tmp_path / "source", per_class=12)
    env = {**s3_env(s3_service), "GREENR_S3_ARTIFACT_URI": f"{s3_prefix}/zenml"}
    registered = run_python(["-m", "stacks", "register", "--stack", "local", "--stack", "local-s3"], env)
    assert registered.returncode == 0, registered.stderr[-2000:]

    assert run_python(["-m", "stacks", "set", "local"], env).returncode == 0
    local = run_python(["run.py", "--pipeline", "ingestion", "--source", str(source)], env)
    assert local.returncode == 0, local.stderr[-3000:]

    assert run_python(["-m", "stacks", "set", "local-s3"], env).returncode == 0
    remote_env = {**env, "GREENR_LAKE_URI": f"{s3_prefix}/lake", "GREENR_DATABASE_URL": postgres_url}
    remote = run_python(["run.py", "--pipeline", "ingestion", "--source", str(source)], remote_env)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "Using stack: `local-s3`" in remote.stdout + remote.stderr

    home = Path(os.environ["GREENR_HOME"])
    local_version = latest_dataset_version(open_catalog(f"sqlite:///{home / 'catalog.db'}"))
    remote_version = latest_dataset_version(open_catalog(postgres_url))
    assert local_version is not None
    assert remote_version is not None
    assert (remote_version.id, remote_version.members) == (local_version.id, local_version.members)
    # The ZenML artifacts of the second run went to the S3 artifact store.
    listing = s3_service.client().list_objects_v2(
        Bucket=s3_service.bucket, Prefix=f"{s3_prefix.split('/', 3)[3]}/zenml/"
    )
    assert listing.get("KeyCount", 0) > 0


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


def test_cluster_stack_needs_its_secrets() -> None:
    result = run_python(["-m", "stacks", "register", "--stack", "cluster"], {})
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "error: stack 'cluster' needs AWS_ACCESS_KEY_ID: set it and register again"
    )
