"""The quickstart's summary gives the addresses the servers were started with, not defaults."""

from __future__ import annotations

import pytest

from greenr.quickstart_summary import quickstart_summary
from greenr.settings import load_settings


def test_the_summary_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_API_PORT", "18001")
    monkeypatch.setenv("GREENR_UI_PORT", "18081")
    monkeypatch.setenv("GREENR_MODEL_SERVER_PORT", "19001")
    monkeypatch.setenv("GREENR_LOG_DIR", "/var/log/greenr-test")
    summary = quickstart_summary(load_settings())
    assert "Web app:        http://127.0.0.1:18081" in summary
    assert "http://127.0.0.1:18001/predict" in summary
    assert "http://127.0.0.1:19001/api/v1.0/predictions" in summary
    assert "/var/log/greenr-test" in summary
    assert ":8000" not in summary
    assert ":8080" not in summary


def test_a_tracking_server_is_linked_and_a_local_backend_gets_its_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert f"--backend-store-uri {settings.tracking_uri}" in quickstart_summary(settings)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    summary = quickstart_summary(load_settings())
    assert "MLflow:         http://127.0.0.1:5999" in summary
    assert "mlflow ui" not in summary


def test_zenml_s_own_cli_is_pointed_at_the_project_s_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_HOME", "/srv/greenr-home")
    summary = quickstart_summary(load_settings())
    assert "ZenML CLI:      export ZENML_CONFIG_PATH=/srv/greenr-home/zenml" in summary
