"""Settings: embedded defaults under one folder, and one-line errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenr.images.memory import LARGE_IMAGE_PIXELS
from greenr.images.preprocess import DRAFT_MARGIN
from greenr.settings import SettingsError, load_settings


def test_embedded_defaults_live_under_greenr_home(tmp_path: Path) -> None:
    settings = load_settings()
    home = tmp_path / "greenr-home"
    assert settings.home == home
    assert settings.catalog_url == f"sqlite:///{home / 'catalog.db'}"
    assert settings.lake == str(home / "lake")
    assert settings.tracking_uri == f"sqlite:///{home / 'mlflow.db'}"
    assert settings.zenml_config_path == home / "zenml"


def test_standard_variable_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:5432/db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8333")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3kr1t-value")
    monkeypatch.setenv("GREENR_LAKE_URI", "s3://bucket/lake")
    settings = load_settings()
    assert settings.catalog_url == "postgresql://u@127.0.0.1:5432/db"
    assert settings.tracking_uri == "http://127.0.0.1:5000"
    assert settings.s3_endpoint_url == "http://127.0.0.1:8333"
    assert settings.lake == "s3://bucket/lake"
    assert "s3kr1t-value" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GREENR_DATABASE_URL", "mysql://x", "GREENR_DATABASE_URL: must start with sqlite://"),
        ("GREENR_LAKE_URI", "gs://bucket", "GREENR_LAKE_URI: must be a local path"),
        ("MLFLOW_TRACKING_URI", "localhost-5000", "MLFLOW_TRACKING_URI: must be a URL"),
        ("GREENR_S3_TIMEOUT_SECONDS", "-1", "GREENR_S3_TIMEOUT_SECONDS: Input should be greater than 0"),
        ("GREENR_MAX_IMAGE_PIXELS", "lots", "GREENR_MAX_IMAGE_PIXELS: Input should be a valid integer"),
        ("GREENR_API_RATE_PER_SECOND", "0", "GREENR_API_RATE_PER_SECOND: Input should be greater than 0"),
        ("GREENR_API_RATE_BURST", "0", "GREENR_API_RATE_BURST: Input should be greater than 0"),
        ("GREENR_API_TRUSTED_HOSTS", "localhost,a*.b", "GREENR_API_TRUSTED_HOSTS: a wildcard must be like"),
        (
            "GREENR_MAX_HISTORY_OFFSET",
            "-1",
            "GREENR_MAX_HISTORY_OFFSET: Input should be greater than or equal to 0",
        ),
        (
            "GREENR_MAX_HISTORY_OFFSET",
            str(2**63),
            "GREENR_MAX_HISTORY_OFFSET: Input should be less than or equal to 9007199254740991",
        ),
        (
            "GREENR_JPEG_DRAFT_MARGIN",
            "0",
            "GREENR_JPEG_DRAFT_MARGIN: Input should be greater than or equal to 1",
        ),
        (
            "GREENR_JPEG_DRAFT_MARGIN",
            "65",
            "GREENR_JPEG_DRAFT_MARGIN: Input should be less than or equal to 64",
        ),
        ("GREENR_LARGE_IMAGE_PIXELS", "0", "GREENR_LARGE_IMAGE_PIXELS: Input should be greater than 0"),
        ("GREENR_LARGE_IMAGE_PIXELS", "8M", "GREENR_LARGE_IMAGE_PIXELS: Input should be a valid integer"),
    ],
)
def test_wrong_value_fails_fast_with_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_s3_lake_without_keys_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENR_LAKE_URI", "s3://bucket/lake")
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        load_settings()


def test_limits_that_were_constants_keep_their_defaults_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = load_settings()
    # The defaults of the libraries' own parameters are these settings' defaults.
    assert defaults.jpeg_draft_margin == DRAFT_MARGIN == 4
    assert defaults.large_image_pixels == LARGE_IMAGE_PIXELS == 8_000_000
    assert defaults.max_history_offset == 2**31 - 1
    monkeypatch.setenv("GREENR_MAX_HISTORY_OFFSET", "100")
    monkeypatch.setenv("GREENR_JPEG_DRAFT_MARGIN", "8")
    monkeypatch.setenv("GREENR_LARGE_IMAGE_PIXELS", "1000000")
    settings = load_settings()
    assert (settings.max_history_offset, settings.jpeg_draft_margin, settings.large_image_pixels) == (
        100,
        8,
        1_000_000,
    )
