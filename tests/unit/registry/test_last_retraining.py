"""The cooldown's start: the newest version the retraining chain tagged, in a real (SQLite) MLflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from greenr.registry.model_registry import RETRAINING_TAG, last_retraining_at, tag_version


def test_only_versions_the_retraining_chain_trained_start_the_cooldown(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert last_retraining_at(uri, "greenr-test") is None  # no model at all
    client.create_registered_model("greenr-test")
    client.create_model_version("greenr-test", source=str(tmp_path / "v1"))
    assert last_retraining_at(uri, "greenr-test") is None  # trained, but not by the chain

    before = datetime.now(UTC) - timedelta(seconds=5)
    second = client.create_model_version("greenr-test", source=str(tmp_path / "v2"))
    tag_version(uri, "greenr-test", str(second.version), {RETRAINING_TAG: "forced (--force)"})
    client.create_model_version("greenr-test", source=str(tmp_path / "v3"))  # a manual training after

    when = last_retraining_at(uri, "greenr-test")
    assert when is not None
    assert before <= when <= datetime.now(UTC) + timedelta(seconds=5)
    assert when == datetime.fromtimestamp(second.creation_timestamp / 1000, UTC)
