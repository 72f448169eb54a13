"""Fixtures shared by the whole test suite.

- Every test runs with isolated settings: `GREENR_HOME` points to a fresh temporary folder, the
  variables `greenr.settings` reads (and the AWS / MLflow ones) are removed so that a developer's
  shell cannot leak into a test, and the settings cache is cleared before and after the test.
- `postgres_url`, `s3_service`, `s3_prefix`, `mlflow_server_uri` and `mlflow_tracking` give tests
  the real PostgreSQL, SeaweedFS (S3) and MLflow tracking servers that `scripts/services.sh start`
  runs; `scripts/test.sh` starts them and exports the `GREENR_TEST_*` variables. Without those
  variables these fixtures fail (they never skip).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from greenr import settings as greenr_settings

SERVICES_MISSING = (
    "services are not running: run scripts/services.sh start and source .greenr/services/services.env, "
    "or use scripts/test.sh"
)

# Read by greenr.settings or by the libraries it configures (boto3, MLflow), but not named by a
# settings field alias.
_EXTRA_LEAKY_VARIABLES = (
    "GREENR_DATABASE_URL",
    "DATABASE_URL",
    "GREENR_LAKE_URI",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)
# Kept: where the photos are is a property of the machine, not of a test.
_KEPT_VARIABLES = frozenset({"GREENR_SOURCE_DIR"})


def _settings_variables() -> set[str]:
    """Every environment variable a `greenr.settings.Settings` field reads."""
    names: set[str] = set(_EXTRA_LEAKY_VARIABLES)
    for field in greenr_settings.Settings.model_fields.values():
        alias: Any = field.validation_alias
        choices = getattr(alias, "choices", [alias])
        names.update(choice for choice in choices if isinstance(choice, str))
    return names - _KEPT_VARIABLES


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Give each test its own GREENR_HOME and an environment free of the developer's settings."""
    for name in _settings_variables():
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "greenr-home"
    monkeypatch.setenv("GREENR_HOME", str(home))
    # boto3 must not find the developer's ~/.aws files either.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    greenr_settings.get_settings.cache_clear()
    yield
    greenr_settings.get_settings.cache_clear()


def _required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{SERVICES_MISSING} ({name} is not set)", pytrace=False)
    return value


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """SQLAlchemy URL of the test server's `greenr` database (GREENR_TEST_DATABASE_URL)."""
    return _required_env("GREENR_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def _postgres_admin_engine(postgres_server_url: str) -> Iterator[Engine]:
    """AUTOCOMMIT engine on the `postgres` maintenance database, to create and drop databases."""
    url = make_url(postgres_server_url).set(database="postgres")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str, _postgres_admin_engine: Engine) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    name = f"greenr_test_{uuid.uuid4().hex[:16]}"
    with _postgres_admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _postgres_admin_engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ---------------------------------------------------------------- S3 (SeaweedFS)


@dataclass(frozen=True)
class S3Service:
    """Where the test S3 server is and how to sign in to it."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str

    def client(self, *, secret_access_key: str | None = None) -> Any:
        """A boto3 S3 client for this server (path-style addressing, no retries)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=5,
                read_timeout=30,
            ),
        )


@pytest.fixture(scope="session")
def s3_service() -> S3Service:
    """The SeaweedFS S3 server started by scripts/services.sh (GREENR_TEST_* variables)."""
    return S3Service(
        endpoint_url=_required_env("GREENR_TEST_S3_ENDPOINT_URL"),
        access_key_id=_required_env("GREENR_TEST_AWS_ACCESS_KEY_ID"),
        secret_access_key=_required_env("GREENR_TEST_AWS_SECRET_ACCESS_KEY"),
        bucket=_required_env("GREENR_TEST_S3_BUCKET"),
    )


@pytest.fixture
def s3_prefix(s3_service: S3Service) -> Iterator[str]:
    """A unique, empty `s3://<bucket>/test-<uuid>` prefix; every object under it is deleted after."""
    key_prefix = f"test-{uuid.uuid4().hex}"
    yield f"s3://{s3_service.bucket}/{key_prefix}"
    client = s3_service.client()
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=s3_service.bucket, Prefix=key_prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=s3_service.bucket, Delete={"Objects": keys, "Quiet": True})


# ---------------------------------------------------------------- MLflow


@dataclass(frozen=True)
class MlflowTarget:
    """The test MLflow server, and an experiment and a registered model name no other test uses."""

    uri: str
    experiment_name: str
    registered_model_name: str


@pytest.fixture(scope="session")
def mlflow_server_uri() -> str:
    """URL of the MLflow tracking server started by scripts/services.sh (GREENR_TEST_MLFLOW_URI).

    It stores runs and the model registry in the test PostgreSQL and proxies artifacts to the test
    S3 bucket under `mlflow-artifacts/`: clients need no S3 keys.
    """
    return _required_env("GREENR_TEST_MLFLOW_URI")


@pytest.fixture
def mlflow_tracking(mlflow_server_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowTarget]:
    """Unique experiment and registered model names on the test MLflow server.

    The fixture creates neither (it does not call `mlflow.set_experiment` nor set the tracking URI);
    after the test it deletes the registered model if the test created it. Beware that
    `mlflow.set_tracking_uri` and `mlflow.set_experiment` set process-wide state and environment
    variables that outlive the test: prefer `MlflowClient(uri)`, `start_run(experiment_id=...)` and
    `monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)`.
    """
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    suffix = uuid.uuid4().hex
    target = MlflowTarget(
        uri=mlflow_server_uri,
        experiment_name=f"greenr-test-{suffix}",
        registered_model_name=f"greenr-test-{suffix}",
    )
    yield target
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

    client = MlflowClient(tracking_uri=target.uri, registry_uri=target.uri)
    try:
        client.delete_registered_model(target.registered_model_name)
    except MlflowException as error:
        if error.error_code != ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            raise
