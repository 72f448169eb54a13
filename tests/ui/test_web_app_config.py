"""Where the web app finds its API key: GREENR_UI_API_KEY, else the quickstart's key file."""

from __future__ import annotations

import pytest

from greenr.settings import load_settings
from ui.config import WebAppConfig


def test_the_key_comes_from_the_environment_or_the_key_file(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WebAppConfig.from_settings(load_settings()).api_key is None
    key_file = load_settings().ui_api_key_file
    key_file.parent.mkdir(parents=True)
    key_file.write_text("greenr_0123456789ab_from-the-file\n")
    config = WebAppConfig.from_settings(load_settings())
    assert config.api_key == "greenr_0123456789ab_from-the-file"
    assert "from-the-file" not in repr(config)  # never in a log line
    monkeypatch.setenv("GREENR_UI_API_KEY", "greenr_0123456789ab_from-the-env")
    assert WebAppConfig.from_settings(load_settings()).api_key == "greenr_0123456789ab_from-the-env"


def test_the_monitoring_key_comes_from_the_environment_or_its_key_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert WebAppConfig.from_settings(load_settings()).monitoring_api_key is None
    key_file = load_settings().ui_monitoring_api_key_file
    key_file.parent.mkdir(parents=True)
    key_file.write_text("greenr_0123456789ab_monitoring-file\n")
    config = WebAppConfig.from_settings(load_settings())
    assert (config.monitoring_api_key, config.api_key) == ("greenr_0123456789ab_monitoring-file", None)
    assert "monitoring-file" not in repr(config)
    monkeypatch.setenv("GREENR_UI_MONITORING_API_KEY", "greenr_0123456789ab_monitoring-env")
    assert (
        WebAppConfig.from_settings(load_settings()).monitoring_api_key == "greenr_0123456789ab_monitoring-env"
    )
